"""Arguments of a wrong type raise TypeError at the call, naming the argument: not an error from deep inside
("'int' object is not iterable"), a misleading one ("unknown socket kind 116" for b"tcp") or a filter
built of their repr ("sport = :True")."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import pyss


@pytest.mark.parametrize(("call", "argument"), [
    (lambda: pyss.sockets(None), "kind"),  # type: ignore[arg-type]
    (lambda: pyss.sockets(5), "kind"),  # type: ignore[arg-type]
    (lambda: pyss.sockets(b"tcp"), "kind"),  # type: ignore[arg-type]
    (lambda: pyss.sockets([b"tcp"]), "kind"),  # type: ignore[list-item]
    (lambda: pyss.count(None), "kind"),  # type: ignore[arg-type]
    (lambda: pyss.sockets("tcp", details=None), "details"),  # type: ignore[arg-type]
    (lambda: pyss.sockets("tcp", details=5), "details"),  # type: ignore[arg-type]
    (lambda: pyss.sockets("tcp", details=[["info"]]), "details"),  # type: ignore[list-item]
    (lambda: pyss.count("tcp", by=None), "by"),  # type: ignore[arg-type]
    (lambda: pyss.count("tcp", by=b"state"), "by"),  # type: ignore[arg-type]
    (lambda: pyss.count("tcp", by=[["state"]]), "by"),  # type: ignore[list-item]
    (lambda: pyss.sockets("tcp", state=pyss.State.LISTEN), "state"),  # type: ignore[arg-type]
    (lambda: pyss.sockets("tcp", state=b"listening"), "state"),  # type: ignore[arg-type]
    (lambda: pyss.count("tcp", state=[1]), "state"),  # type: ignore[list-item]
    (lambda: pyss.sockets("tcp", src=5), "src"),  # type: ignore[arg-type]
    (lambda: pyss.sockets("tcp", dst=["10.0.0.1"]), "dst"),  # type: ignore[arg-type]
    (lambda: pyss.sockets("tcp", sport=True), "sport"),
    (lambda: pyss.sockets("tcp", dport=4.0), "dport"),  # type: ignore[arg-type]
    (lambda: pyss.count("tcp", dport=b"22"), "dport"),  # type: ignore[arg-type]
    (lambda: pyss.sockets("tcp", netns=b"name"), "netns"),  # type: ignore[arg-type]
    (lambda: pyss.sockets("tcp", netns=1.0), "netns"),  # type: ignore[arg-type]
    (lambda: pyss.sockets("tcp", netns=True), "netns"),
])
def test_a_wrong_type_is_a_type_error_naming_the_argument(call: Callable[[], object], argument: str) -> None:
    with pytest.raises(TypeError, match=rf"^{argument} must be "):
        call()
