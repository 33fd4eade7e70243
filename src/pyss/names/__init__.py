"""Names for numbers (hosts, services, protocols, interfaces, programs): ss's rules and net-tools' rules."""
