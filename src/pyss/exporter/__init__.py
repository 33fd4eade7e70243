"""pyss-exporter: socket metrics for Prometheus (see docs/exporter.md).

Layout: :mod:`.tally` counts one namespace's sockets (pure), :mod:`.metrics`
turns tallies into bounded metric families (pure), :mod:`.source` runs the
dumps (the only I/O), :mod:`.collector` shares one dump between concurrent
scrapes and counts what went wrong, :mod:`.cli` is the typer command line.
Only this package imports typer and prometheus_client; pyss and pynetstat never
import it.
"""
