from pyss.cli.launch import pyss

raise SystemExit(pyss())
