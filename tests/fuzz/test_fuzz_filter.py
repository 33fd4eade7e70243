"""Random filter strings and random filter files: a CompiledFilter or a FilterError, nothing else,
and never a hang; a compiled filter judges any record without raising.

Default suite: 200 examples per test; `nox -s fuzz`: 5,000.
"""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st

from pyss.filter import FilterError, compile_filter
from pyss.filter.tokens import FIELDS, OPERATORS
from pyss.netlink.constants import AF_INET, AF_INET6, AF_UNIX
from pyss.records import UnixSocket
from tests.fuzz.budget import budget
from tests.unit.filter import kernel_model
from tests.unit.filter.fake_resolver import FakeResolver

EXAMPLES = budget(200, 5_000)
SECONDS = 5.0  # far above any real filter's compile time: more is a hang

STATE_WORDS = ["state", "exclude", "excl", "established", "listening", "all", "connected", "bucket", "big",
               "time-wait", "syn-sent", "closed", "synchronized", "bogus"]
VALUES = [":22", ":ssh", ":http", ":99999", ":-1", ":0x10", "*", "*:80", "127.0.0.1", "127/8", "[::1]:22", "::1",
          "10.0.0.0/33", "localhost", "dual", "six", "unix:/run/*", "unix:@x", "link:ip:lo", "netlink:rtnl:0",
          "vsock:3:22", "inet6:[::]", "lo", "if1", "0x1/0xff", "/sys/fs/cgroup/app", "nosuch.invalid", "[::1",
          "a\\ b", "\\", "0", "", "(", ")", "!", "&&"]
words = st.one_of(st.sampled_from(sorted(OPERATORS)), st.sampled_from(FIELDS), st.sampled_from(STATE_WORDS),
                  st.sampled_from(VALUES), st.text(max_size=12))
word_lists = st.lists(words, max_size=24)

RECORDS = [
    kernel_model.record_for(kernel_model.Entry(AF_INET, 22, 40000, bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))),
    kernel_model.record_for(kernel_model.Entry(AF_INET6, 40000, 80, bytes(15) + b"\1", bytes(16))),
    UnixSocket(1, 10, 5, 0, "/run/x.sock", 0, 0, 0, b""),
    UnixSocket(2, 7, 6, 0, None, 0, 0, 0, b""),
]


def compile_and_judge(**arguments: object) -> None:
    start = time.monotonic()
    try:
        found = compile_filter(resolver=FakeResolver(), **arguments)  # type: ignore[arg-type]
    except FilterError as error:
        assert error.status in (1, 255) and error.message and "\n" not in str(error)
    else:
        for record in RECORDS:
            assert found(record) in (True, False)
        str(found)
        found.kernel_bytecode  # noqa: B018
    assert time.monotonic() - start < SECONDS


@EXAMPLES
@given(word_lists, st.sampled_from([0, AF_INET, AF_INET6, AF_UNIX]))
def test_random_filter_words_compile_or_raise_filter_error(filter_words: list[str], family: int) -> None:
    compile_and_judge(words=filter_words, preferred_family=family)


@EXAMPLES
@given(st.one_of(st.binary(max_size=400),
                 st.lists(word_lists.map(" ".join), max_size=6).map(lambda lines: "\n".join(lines).encode())))
def test_random_filter_files_compile_or_raise_filter_error(content: bytes) -> None:
    compile_and_judge(words=[], file_text=content.decode("utf-8", "surrogateescape"))
