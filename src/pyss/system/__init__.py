"""The thin I/O layer: every read of /proc, /sys and the system's small text files, and namespace switching.

Modules above this one parse and format; they get their bytes and texts from here.
"""
