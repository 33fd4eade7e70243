from pyss.cli.ss import command

raise SystemExit(command())
