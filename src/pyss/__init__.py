"""pyss: a fast, ss- and netstat-compatible socket inspector for Linux."""

__version__ = "0.1.0"
