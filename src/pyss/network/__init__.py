"""pynetstat's reports about the network other than sockets: routes, interfaces, statistics, groups, masquerade."""
