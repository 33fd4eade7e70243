"""netstat -s: the kernel's SNMP counters in net-tools' wording.

The kernel publishes the counters as text (/proc/net/snmp and /proc/net/netstat
as header/value line pairs, /proc/net/snmp6 as name/value lines); there is no
netlink source for them. net-tools translates known counters into sentences,
prints unknown nonzero ones as "Name: value", hides some zero ones, and finds
its sentence with a binary search over tables that are not quite sorted, so a
few counters ("Forwarding", for one) fall through to the raw form. Scripts
grep these sentences, so :func:`render_inet` and :func:`render_inet6`
reproduce that behaviour, lookup quirks included.
"""

from __future__ import annotations

# Counter kinds
NUMBER, OPTIONAL, FORWARD, ICMP_IN, ICMP_OUT, RTO = range(6)
_INDENT = {NUMBER: 4, OPTIONAL: 4, FORWARD: 4, ICMP_IN: 8, ICMP_OUT: 8, RTO: 4}
_TITLES = {ICMP_IN: "ICMP input histogram:", ICMP_OUT: "ICMP output histogram:"}
STATIC = 0x100  # configuration, not a counter: never printed
TITLED = 0x200  # belongs under a histogram title

Entry = tuple[str, str, int]  # counter name, sentence ("%d" marks the value), kind | flags

# Each table keeps net-tools' order: the lookup is a binary search over it.
IP: tuple[Entry, ...] = (
    ("DefaultTTL", "Default TTL is %d", NUMBER | STATIC),
    ("Forwarding", "Forwarding is %s", FORWARD | STATIC),
    ("ForwDatagrams", "%d forwarded", NUMBER),
    ("FragCreates", "%d fragments created", OPTIONAL),
    ("FragFails", "%d outgoing packets failed fragmentation", OPTIONAL),
    ("FragOKs", "%d outgoing packets fragmented ok", OPTIONAL),
    ("InAddrErrors", "%d with invalid addresses", OPTIONAL),
    ("InDelivers", "%d incoming packets delivered", NUMBER),
    ("InDiscards", "%d incoming packets discarded", NUMBER),
    ("InHdrErrors", "%d with invalid headers", OPTIONAL),
    ("InReceives", "%d total packets received", NUMBER),
    ("InUnknownProtos", "%d with unknown protocol", OPTIONAL),
    ("OutDiscards", "%d outgoing packets dropped", OPTIONAL),
    ("OutNoRoutes", "%d dropped because of missing route", OPTIONAL),
    ("OutRequests", "%d requests sent out", NUMBER),
    ("ReasmFails", "%d packet reassemblies failed", OPTIONAL),
    ("ReasmOKs", "%d packets reassembled ok", OPTIONAL),
    ("ReasmReqds", "%d reassemblies required", OPTIONAL),
    ("ReasmTimeout", "%d fragments dropped after timeout", OPTIONAL),
)
IP6: tuple[Entry, ...] = (
    ("Ip6FragCreates", "%d fragments created", OPTIONAL),
    ("Ip6FragFails", "%d outgoing packets failed fragmentation", OPTIONAL),
    ("Ip6FragOKs", "%d outgoing packets fragmented ok", OPTIONAL),
    ("Ip6InAddrErrors", "%d with invalid addresses", OPTIONAL),
    ("Ip6InDelivers", "%d incoming packets delivered", NUMBER),
    ("Ip6InDiscards", "%d incoming packets discarded", NUMBER),
    ("Ip6InHdrErrors", "%d with invalid headers", OPTIONAL),
    ("Ip6InMcastPkts", "%d incoming multicast packets", OPTIONAL),
    ("Ip6InNoRoutes", "%d incoming packets with no route", OPTIONAL),
    ("Ip6InReceives", "%d total packets received", NUMBER),
    ("Ip6InTooBigErrors", "%d with packets too big", OPTIONAL),
    ("Ip6InTruncatedPkts", "%d with truncated packets", OPTIONAL),
    ("Ip6InUnknownProtos", "%d with unknown protocol", OPTIONAL),
    ("Ip6OutDiscards", "%d outgoing packets dropped", OPTIONAL),
    ("Ip6OutForwDatagrams", "%d forwarded", NUMBER),
    ("Ip6OutMcastPkts", "%d outgoing multicast packets", OPTIONAL),
    ("Ip6OutNoRoutes", "%d dropped because of missing route", OPTIONAL),
    ("Ip6OutRequests", "%d requests sent out", NUMBER),
    ("Ip6ReasmFails", "%d packet reassemblies failed", OPTIONAL),
    ("Ip6ReasmOKs", "%d packets reassembled ok", OPTIONAL),
    ("Ip6ReasmReqds", "%d reassemblies required", OPTIONAL),
    ("Ip6ReasmTimeout", "%d fragments dropped after timeout", OPTIONAL),
)
ICMP: tuple[Entry, ...] = (
    ("InAddrMaskReps", "address mask replies: %d", ICMP_IN | TITLED),
    ("InAddrMasks", "address mask request: %d", ICMP_IN | TITLED),
    ("InDestUnreachs", "destination unreachable: %d", ICMP_IN | TITLED),
    ("InEchoReps", "echo replies: %d", ICMP_IN | TITLED),
    ("InEchos", "echo requests: %d", ICMP_IN | TITLED),
    ("InErrors", "%d input ICMP message failed", NUMBER),
    ("InMsgs", "%d ICMP messages received", NUMBER),
    ("InParmProbs", "wrong parameters: %d", ICMP_IN | TITLED),
    ("InRedirects", "redirects: %d", ICMP_IN | TITLED),
    ("InSrcQuenchs", "source quenches: %d", ICMP_IN | TITLED),
    ("InTimeExcds", "timeout in transit: %d", ICMP_IN | TITLED),
    ("InTimestampReps", "timestamp reply: %d", ICMP_IN | TITLED),
    ("InTimestamps", "timestamp request: %d", ICMP_IN | TITLED),
    ("OutAddrMaskReps", "address mask replies: %d", ICMP_OUT | TITLED),
    ("OutAddrMasks", "address mask requests: %d", ICMP_OUT | TITLED),
    ("OutDestUnreachs", "destination unreachable: %d", ICMP_OUT | TITLED),
    ("OutEchoReps", "echo replies: %d", ICMP_OUT | TITLED),
    ("OutEchos", "echo requests: %d", ICMP_OUT | TITLED),
    ("OutErrors", "%d ICMP messages failed", NUMBER),
    ("OutMsgs", "%d ICMP messages sent", NUMBER),
    ("OutParmProbs", "wrong parameters: %d", ICMP_OUT | TITLED),
    ("OutRedirects", "redirect: %d", ICMP_OUT | TITLED),
    ("OutSrcQuenchs", "source quench: %d", ICMP_OUT | TITLED),
    ("OutTimeExcds", "time exceeded: %d", ICMP_OUT | TITLED),
    ("OutTimestampReps", "timestamp replies: %d", ICMP_OUT | TITLED),
    ("OutTimestamps", "timestamp requests: %d", ICMP_OUT | TITLED),
)
ICMP6: tuple[Entry, ...] = (
    ("Icmp6InDestUnreachs", "destination unreachable: %d", ICMP_IN | TITLED),
    ("Icmp6InEchoReplies", "echo replies: %d", ICMP_IN | TITLED),
    ("Icmp6InEchos", "echo requests: %d", ICMP_IN | TITLED),
    ("Icmp6InErrors", "%d input ICMP message failed", NUMBER),
    ("Icmp6InGroupMembQueries", "group member queries: %d", ICMP_IN | TITLED),
    ("Icmp6InGroupMembReductions", "group member reductions: %d", ICMP_IN | TITLED),
    ("Icmp6InGroupMembResponses", "group member responses: %d", ICMP_IN | TITLED),
    ("Icmp6InMsgs", "%d ICMP messages received", NUMBER),
    ("Icmp6InNeighborAdvertisements", "neighbour advertisement: %d", ICMP_IN | TITLED),
    ("Icmp6InNeighborSolicits", "neighbour solicits: %d", ICMP_IN | TITLED),
    ("Icmp6InParmProblems", "parameter problem: %d", ICMP_IN | TITLED),
    ("Icmp6InPktTooBigs", "packets too big: %d", ICMP_IN | TITLED),
    ("Icmp6InRedirects", "redirects: %d", ICMP_IN | TITLED),
    ("Icmp6InRouterAdvertisements", "router advertisement: %d", ICMP_IN | TITLED),
    ("Icmp6InRouterSolicits", "router solicits: %d", ICMP_IN | TITLED),
    ("Icmp6InTimeExcds", "received ICMPv6 time exceeded: %d", ICMP_IN | TITLED),
    ("Icmp6OutDestUnreachs", "destination unreachable: %d", ICMP_OUT | TITLED),
    ("Icmp6OutEchoReplies", "echo replies: %d", ICMP_OUT | TITLED),
    ("Icmp6OutEchos", "echo requests: %d", ICMP_OUT | TITLED),
    ("Icmp6OutGroupMembQueries", "group member queries: %d", ICMP_OUT | TITLED),
    ("Icmp6OutGroupMembReductions", "group member reductions: %d", ICMP_OUT | TITLED),
    ("Icmp6OutGroupMembResponses", "group member responses: %d", ICMP_OUT | TITLED),
    ("Icmp6OutMsgs", "%d ICMP messages sent", NUMBER),
    ("Icmp6OutNeighborAdvertisements", "neighbor advertisements: %d", ICMP_OUT | TITLED),
    ("Icmp6OutNeighborSolicits", "neighbor solicits: %d", ICMP_OUT | TITLED),
    ("Icmp6OutParmProblems", "parameter problem: %d", ICMP_OUT | TITLED),
    ("Icmp6OutPktTooBigs", "packets too big: %d", ICMP_OUT | TITLED),
    ("Icmp6OutRedirects", "redirects: %d", ICMP_OUT | TITLED),
    # net-tools' key has a trailing blank, so this counter is never found by name
    ("Icmp6OutRouterAdvertisements ", "router advertisement: %d", ICMP_OUT | TITLED),
    ("Icmp6OutRouterSolicits", "router solicits: %d", ICMP_OUT | TITLED),
    ("Icmp6OutTimeExcds", "sent ICMPv6 time exceeded: %d", ICMP_OUT | TITLED),
)
TCP: tuple[Entry, ...] = (
    ("ActiveOpens", "%d active connection openings", NUMBER),
    ("AttemptFails", "%d failed connection attempts", NUMBER),
    ("CurrEstab", "%d connections established", NUMBER),
    ("EstabResets", "%d connection resets received", NUMBER),
    ("InErrs", "%d bad segments received", NUMBER),
    ("InSegs", "%d segments received", NUMBER),
    ("MaxConn", "", NUMBER),
    ("OutRsts", "%d resets sent", NUMBER),
    ("OutSegs", "%d segments sent out", NUMBER),
    ("PassiveOpens", "%d passive connection openings", NUMBER),
    ("RetransSegs", "%d segments retransmitted", NUMBER),
    ("RtoAlgorithm", "RTO algorithm is %s", RTO | STATIC),
    ("RtoMax", "", NUMBER),
    ("RtoMin", "", NUMBER),
)
UDP: tuple[Entry, ...] = (
    ("InDatagrams", "%d packets received", NUMBER),
    ("InErrors", "%d packet receive errors", NUMBER),
    ("NoPorts", "%d packets to unknown port received", NUMBER),
    ("OutDatagrams", "%d packets sent", NUMBER),
    ("RcvbufErrors", "%d receive buffer errors", NUMBER),
    ("SndbufErrors", "%d send buffer errors", NUMBER),
)
UDP6: tuple[Entry, ...] = (
    ("Udp6InDatagrams", "%d packets received", NUMBER),
    ("Udp6InErrors", "%d packet receive errors", NUMBER),
    ("Udp6NoPorts", "%d packets to unknown port received", NUMBER),
    ("Udp6OutDatagrams", "%d packets sent", NUMBER),
)
TCP_EXT: tuple[Entry, ...] = (
    ("DelayedACKLocked", "%d delayed acks further delayed because of locked socket", OPTIONAL),
    ("DelayedACKLost", "Quick ack mode was activated %d times", OPTIONAL),
    ("DelayedACKs", "%d delayed acks sent", OPTIONAL),
    ("EmbryonicRsts", "%d resets received for embryonic SYN_RECV sockets", OPTIONAL),
    ("ListenDrops", "%d SYNs to LISTEN sockets dropped", OPTIONAL),
    ("ListenOverflows", "%d times the listen queue of a socket overflowed", OPTIONAL),
    ("LockDroppedIcmps", "%d ICMP packets dropped because socket was locked", OPTIONAL),
    ("OfoPruned", "%d packets dropped from out-of-order queue because of socket buffer overrun", OPTIONAL),
    ("OutOfWindowIcmps", "%d ICMP packets dropped because they were out-of-window", OPTIONAL),
    ("PAWSActive", "%d active connections rejected because of time stamp", OPTIONAL),
    ("PAWSEstab", "%d packets rejected in established connections because of timestamp", OPTIONAL),
    ("PAWSPassive", "%d passive connections rejected because of time stamp", OPTIONAL),
    ("PruneCalled", "%d packets pruned from receive queue because of socket buffer overrun", OPTIONAL),
    ("RcvPruned", "%d packets pruned from receive queue", OPTIONAL),
    ("SockMallocOOM", "Ran %d times out of system memory during packet sending", OPTIONAL),
    ("SyncookiesFailed", "%d invalid SYN cookies received", OPTIONAL),
    ("SyncookiesRecv", "%d SYN cookies received", OPTIONAL),
    ("SyncookiesSent", "%d SYN cookies sent", OPTIONAL),
    ("TCPAbortFailed", "%d times unable to send RST due to no memory", OPTIONAL),
    ("TCPAbortOnClose", "%d connections reset due to early user close", OPTIONAL),
    ("TCPAbortOnData", "%d connections reset due to unexpected data", OPTIONAL),
    ("TCPAbortOnLinger", "%d connections aborted after user close in linger timeout", OPTIONAL),
    ("TCPAbortOnMemory", "%d connections aborted due to memory pressure", OPTIONAL),
    ("TCPAbortOnSyn", "%d connections reset due to unexpected SYN", OPTIONAL),
    ("TCPAbortOnTimeout", "%d connections aborted due to timeout", OPTIONAL),
    ("TCPDirectCopyFromBacklog", "%d bytes directly in process context from backlog", OPTIONAL),
    ("TCPDirectCopyFromPrequeue", "%d bytes directly received in process context from prequeue", OPTIONAL),
    ("TCPDSACKOfoRecv", "%d DSACKs for out of order packets received", OPTIONAL),
    ("TCPDSACKOfoSent", "%d DSACKs sent for out of order packets", OPTIONAL),
    ("TCPDSACKOldSent", "%d DSACKs sent for old packets", OPTIONAL),
    ("TCPDSACKRecv", "%d DSACKs received", OPTIONAL),
    ("TCPDSackUndo", "%d congestion window recovered without slow start using DSACK", OPTIONAL),
    ("TCPDSACKUndo", "%d congestion windows recovered without slow start by DSACK", OPTIONAL),
    ("TCPFACKReorder", "Detected reordering %d times using FACK", OPTIONAL),
    ("TCPFastRetrans", "%d fast retransmits", OPTIONAL),
    ("TCPForwardRetrans", "%d forward retransmits", OPTIONAL),
    ("TCPFullUndo", "%d congestion windows fully recovered without slow start", OPTIONAL),
    ("TCPHPAcks", "%d predicted acknowledgments", OPTIONAL),
    ("TCPHPHits", "%d packet headers predicted", NUMBER),
    ("TCPHPHitsToUser", "%d packet headers predicted and directly queued to user", OPTIONAL),
    ("TCPLossFailures", "%d timeouts in loss state", OPTIONAL),
    ("TCPLoss", "%d TCP data loss events", OPTIONAL),
    ("TCPLossUndo", "%d congestion windows recovered without slow start after partial ack", OPTIONAL),
    ("TCPLostRetransmits", "%d retransmits lost", OPTIONAL),
    ("TCPMemoryPressures", "TCP ran low on memory %d times", OPTIONAL),
    ("TCPPartialUndo", "%d congestion windows partially recovered using Hoe heuristic", OPTIONAL),
    ("TCPPrequeued", "%d packets directly queued to recvmsg prequeue", OPTIONAL),
    ("TCPPrequeueDropped", "%d packets dropped from prequeue", OPTIONAL),
    ("TCPPureAcks", "%d acknowledgments not containing data payload received", OPTIONAL),
    ("TCPRcvCollapsed", "%d packets collapsed in receive queue due to low socket buffer", OPTIONAL),
    ("TCPRenoFailures", "%d timeouts after reno fast retransmit", OPTIONAL),
    ("TCPRenoRecoveryFailed", "%d reno fast retransmits failed", OPTIONAL),
    ("TCPRenoRecoveryFail", "%d classic Reno fast retransmits failed", OPTIONAL),
    ("TCPRenoRecovery", "%d times recovered from packet loss due to fast retransmit", OPTIONAL),
    ("TCPRenoReorder", "Detected reordering %d times using reno fast retransmit", OPTIONAL),
    ("TCPSackFailures", "%d timeouts after SACK recovery", OPTIONAL),
    ("TCPSackRecoveryFail", "%d SACK retransmits failed", OPTIONAL),
    ("TCPSackRecovery", "%d times recovered from packet loss by selective acknowledgements", OPTIONAL),
    ("TCPSACKReneging", "%d bad SACK blocks received", OPTIONAL),
    ("TCPSACKReorder", "Detected reordering %d times using SACK", OPTIONAL),
    ("TCPSchedulerFailed", "%d times receiver scheduled too late for direct processing", OPTIONAL),
    ("TCPSlowStartRetrans", "%d retransmits in slow start", OPTIONAL),
    ("TCPTimeouts", "%d other TCP timeouts", OPTIONAL),
    ("TCPTSReorder", "Detected reordering %d times using time stamp", OPTIONAL),
    ("TWKilled", "%d TCP sockets finished time wait in slow timer", OPTIONAL),
    ("TW", "%d TCP sockets finished time wait in fast timer", OPTIONAL),
    ("TWRecycled", "%d time wait sockets recycled by time stamp", OPTIONAL),
)
SCTP: tuple[Entry, ...] = (
    ("SctpAborteds", "%d Number of Aborteds ", NUMBER),
    ("SctpActiveEstabs", "%d Active Associations", NUMBER),
    ("SctpChecksumErrors", "%d Number of Packets with invalid Checksum", NUMBER),
    ("SctpCurrEstab", "%d Current Associations", NUMBER),
    ("SctpFragUsrMsgs", "%d Number of messages fragmented", NUMBER),
    ("SctpInCtrlChunks", "%d Number of control chunks received", NUMBER),
    ("SctpInOrderChunks", "%d Number of ordered chunks received", NUMBER),
    ("SctpInSCTPPacks", "%d Number of SCTP packets received", NUMBER),
    ("SctpInUnorderChunks", "%d Number of Unordered chunks received", NUMBER),
    ("SctpOutCtrlChunks", "%d Number of control chunks sent", NUMBER),
    ("SctpOutOfBlues", "%d Number of Out of Blue packets", NUMBER),
    ("SctpOutOrderChunks", "%d Number of ordered chunks sent", NUMBER),
    ("SctpOutSCTPPacks", "%d Number of SCTP packets sent", NUMBER),
    ("SctpOutUnorderChunks", "%d Number of Unordered chunks sent", NUMBER),
    ("SctpPassiveEstabs", "%d Passive Associations", NUMBER),
    ("SctpReasmUsrMsgs", "%d Number of messages reassembled ", NUMBER),
    ("SctpShutdowns", "%d Number of Graceful Terminations", NUMBER),
)

# section title -> (entries, which -t/-u/-w/-S selection shows it)
INET_SECTIONS: dict[str, tuple[tuple[Entry, ...], str]] = {
    "Ip": (IP, "raw"), "Icmp": (ICMP, "raw"), "Tcp": (TCP, "tcp"), "Udp": (UDP, "udp"),
    "Sctp": (SCTP, "sctp"), "TcpExt": (TCP_EXT, "tcp"),
}
INET6_SECTIONS: dict[str, tuple[tuple[Entry, ...], str]] = {
    "Ip6": (IP6, "raw"), "Icmp6": (ICMP6, "raw"), "Udp6": (UDP6, "udp"), "Tcp6": (TCP, "tcp"),
}


def find(entries: tuple[Entry, ...], name: str) -> Entry | None:
    """The C library's bsearch over ``entries`` (which may be out of order: then it misses, as net-tools does)."""
    low, high = 0, len(entries)
    while low < high:
        middle = (low + high) // 2
        title = entries[middle][0]
        if name < title:
            high = middle
        elif name > title:
            low = middle + 1
        else:
            return entries[middle]
    return None


class _Printer:
    """The running state of net-tools' printer: the last counter kind decides the next indent.

    A plain class: importing dataclasses (with inspect, re and enum) cost more than the rest of
    `pynetstat -s`'s start-up."""

    __slots__ = ("kind", "lines", "shown")

    def __init__(self, shown: frozenset[str]) -> None:
        self.shown = shown  # the -t/-u/-w/-S selection: "tcp", "udp", "raw", "sctp"
        self.lines: list[str] = []
        self.kind = NUMBER

    def section(self, sections: dict[str, tuple[tuple[Entry, ...], str]], title: str) -> tuple[tuple[Entry, ...], bool]:
        """Start a section; unknown sections are always shown, with their nonzero counters raw."""
        known = sections.get(title)
        if known is None:  # net-tools keeps the previous section's indent state here
            self.lines.append(f"{title}:")
            return (), True
        self.kind = NUMBER
        entries, selector = known
        visible = selector in self.shown
        if visible:
            self.lines.append(f"{title}:")
        return entries, visible

    def value(self, entries: tuple[Entry, ...], name: str, value: int) -> None:
        entry = find(entries, name) if entries else None
        if entry is None:
            if value:
                self.lines.append(f"{' ' * _INDENT[self.kind]}{name}: {value}")
            return
        _, sentence, kind = entry
        if kind & STATIC or not sentence:
            return
        if kind & TITLED:
            kind &= ~TITLED
            if self.kind != kind:
                self.lines.append(f"{' ' * _INDENT[self.kind]}{_TITLES[kind]}")
        text = ""
        if kind == NUMBER or (kind in (OPTIONAL, ICMP_IN, ICMP_OUT) and value):
            text = sentence.replace("%d", str(value))
        if text:
            self.lines.append(f"{' ' * _INDENT[kind]}{text}")
        self.kind = kind


def parse_pairs(text: str) -> list[tuple[str, list[tuple[str, int]]]]:
    """/proc/net/snmp or /proc/net/netstat: ("Tcp", [("ActiveOpens", 6), ...]) per header/value line pair."""
    sections: list[tuple[str, list[tuple[str, int]]]] = []
    lines = [line for line in text.splitlines() if line.strip()]
    for header, values in zip(lines[::2], lines[1::2], strict=False):
        title, _, names = header.partition(":")
        numbers = values.partition(":")[2].split()
        counters = [(name, _number(numbers[i]) if i < len(numbers) else 0) for i, name in enumerate(names.split())]
        sections.append((title, counters))
    return sections


def _number(text: str) -> int:
    # strtoull: a negative /proc value (Tcp MaxConn is -1) wraps to 2**64 - 1
    try:
        return int(text) % (1 << 64)
    except ValueError:
        return 0


def render_inet(snmp: str, netstat: str, shown: frozenset[str], sctp: str | None = None) -> str:
    """netstat -s for IPv4 (-s, -st, -su, -sw)."""
    printer = _Printer(shown)
    for text in (snmp, netstat):
        for title, counters in parse_pairs(text):
            entries, visible = printer.section(INET_SECTIONS, title)
            if visible:
                for name, value in counters:
                    printer.value(entries, name, value)
    if sctp is not None:
        entries, visible = printer.section(INET_SECTIONS, "Sctp")
        for line in sctp.splitlines():
            words = line.split()
            if len(words) >= 2 and visible:
                printer.value(entries, words[0], _number(words[1]))
    return "".join(line + "\n" for line in printer.lines)


def _snmp6_section(name: str) -> str:
    """net-tools names an snmp6 section by the counter's prefix up to and including its first '6'."""
    six = name.find("6")
    return name if six < 0 else name[:six + 1]


def render_inet6(snmp6: str, snmp: str, shown: frozenset[str]) -> str:
    """netstat -s -6: /proc/net/snmp6, then the (IPv4 file's) Tcp section."""
    printer = _Printer(shown)
    title = ""
    entries: tuple[Entry, ...] = ()
    visible = False
    for line in snmp6.splitlines():
        words = line.split()
        if not words:
            continue
        name = words[0]
        if not title or title not in name:
            title = _snmp6_section(name)
            entries, visible = printer.section(INET6_SECTIONS, title)
        if visible:
            printer.value(entries, name, _number(words[1]) if len(words) > 1 else 0)
    for section, counters in parse_pairs(snmp):
        if not section.startswith("Tcp"):
            continue
        entries, visible = printer.section(INET_SECTIONS, section)
        if visible:
            for name, value in counters:
                printer.value(entries, name, value)
    return "".join(line + "\n" for line in printer.lines)
