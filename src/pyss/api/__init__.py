"""pyss's public API, one module per job (see pyss/__init__.py for the names it exports)."""
