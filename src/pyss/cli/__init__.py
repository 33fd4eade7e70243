"""The command lines: pyss (ss's flags) and pynetstat (netstat's)."""
