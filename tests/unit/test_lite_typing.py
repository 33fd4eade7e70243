"""pyss.lite_typing.NamedTuple behaves as typing.NamedTuple does, without typing imported at run time."""

from __future__ import annotations

import pickle
import subprocess
import sys
import typing

import pytest

from pyss.lite_typing import NamedTuple


class Point(NamedTuple):
    """A point."""

    x: int
    y: int = 0
    label: str = "p"

    @property
    def norm1(self) -> int:
        return abs(self.x) + abs(self.y)

    def moved(self, dx: int) -> Point:
        return self._replace(x=self.x + dx)


class TypingPoint(typing.NamedTuple):
    """A point."""

    x: int
    y: int = 0
    label: str = "p"


def test_fields_defaults_and_tuple_behaviour_match_typing() -> None:
    assert Point._fields == TypingPoint._fields == ("x", "y", "label")
    assert Point._field_defaults == TypingPoint._field_defaults == {"y": 0, "label": "p"}
    assert Point(1) == TypingPoint(1) == (1, 0, "p")
    assert Point(1, label="q") == (1, 0, "q")
    assert repr(Point(1, 2)) == "Point(x=1, y=2, label='p')"
    assert Point(3, 4)._asdict() == {"x": 3, "y": 4, "label": "p"}
    assert Point._make([5, 6, "r"]) == (5, 6, "r")
    assert isinstance(Point(1), tuple)
    assert Point.__doc__ == "A point."
    assert Point.__module__ == __name__
    assert Point.__qualname__ == "Point"
    assert Point.__match_args__ == ("x", "y", "label")
    with pytest.raises(AttributeError):
        Point(1).x = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        Point()  # type: ignore[call-arg]


@pytest.mark.parametrize(("args", "kwargs"), [
    ((), {}), ((1, 2, "q", 4), {}), ((1,), {"x": 2}), ((1,), {"z": 2}), ((), {"y": 1}),
])
def test_a_bad_call_is_refused_as_typing_refuses_it(args: tuple[object, ...], kwargs: dict[str, object]) -> None:
    for cls in (Point, TypingPoint):
        with pytest.raises(TypeError):
            cls(*args, **kwargs)


@pytest.mark.parametrize(("args", "kwargs"), [
    ((1,), {}), ((1, 2), {}), ((1, 2, "q"), {}), ((), {"x": 1}), ((1,), {"label": "q"}), ((), {"label": "q", "x": 5}),
    ((1,), {"y": 3, "label": "r"}),
])
def test_calls_give_the_tuples_typing_gives(args: tuple[object, ...], kwargs: dict[str, object]) -> None:
    assert Point(*args, **kwargs) == TypingPoint(*args, **kwargs)  # type: ignore[arg-type]


def test_replace_and_make_check_their_fields() -> None:
    with pytest.raises(ValueError, match="unexpected field"):
        Point(1)._replace(z=2)
    with pytest.raises(TypeError):
        Point._make([1, 2])
    assert Point(1, 2)._replace(label="q") == (1, 2, "q")
    assert Point.x.__doc__ == TypingPoint.x.__doc__
    assert Point(1, 2).__getnewargs__() == (1, 2, "p")


def test_the_class_body_comes_along() -> None:
    assert Point(1, -2).norm1 == 3
    assert Point(1).moved(2) == Point(3)
    assert type(Point(1).moved(2)) is Point


def test_pickles_by_name() -> None:
    assert pickle.loads(pickle.dumps(Point(1, 2))) == Point(1, 2)


def test_a_required_field_after_a_default_is_refused() -> None:
    with pytest.raises(TypeError, match="without a default"):
        class Bad(NamedTuple):
            a: int = 1
            b: int  # type: ignore[misc]


def test_overwriting_what_namedtuple_makes_is_refused() -> None:
    with pytest.raises(AttributeError, match="_replace"):
        class Bad(NamedTuple):
            a: int

            def _replace(self) -> None:  # type: ignore[override]
                pass


def test_typing_is_not_imported() -> None:
    code = ("import sys, pyss.lite_typing as t\nclass P(t.NamedTuple):\n    x: int\n"
            "sys.exit(any(name in sys.modules for name in ('typing', 'collections')))")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
