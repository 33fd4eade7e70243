"""What the plain-listing path needs from :mod:`typing`, without importing typing when it runs.

Importing typing pulls in re, enum, functools and contextlib: about 40 million
instructions, more than everything `python -c pass` does (~38 million, callgrind),
and so the largest share of `pyss -tan`'s start-up. Modules on that path take
``NamedTuple`` and ``TYPE_CHECKING`` from here and keep their other typing
names under ``if TYPE_CHECKING:`` (annotations are strings, PEP 563).

Type checkers see typing's own ``NamedTuple``. At run time a class written
``class Point(NamedTuple): x: int; y: int = 0`` becomes
``collections.namedtuple("Point", ["x", "y"], defaults=[0])`` with the class
body's methods, properties and docstring copied on, which is how typing
builds it too: the same fields, defaults, ``_make``/``_replace``/``_asdict``,
repr, pickling and tuple behaviour.
"""

from __future__ import annotations

__all__ = ["TYPE_CHECKING", "NamedTuple"]

TYPE_CHECKING = False  # type checkers treat any name TYPE_CHECKING as true

if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from collections import namedtuple as _namedtuple

    # Class-body names that namedtuple makes itself, or that do not belong on the class.
    _KEEP_OUT = frozenset({"__module__", "__qualname__", "__annotations__", "__dict__", "__weakref__",
                           "__slots__", "_root"})
    _RESERVED = frozenset({"__new__", "__init__", "__getnewargs__", "_make", "_replace", "_asdict", "_fields",
                           "_field_defaults"})

    class _NamedTupleMeta(type):
        def __new__(mcs, name, bases, namespace):
            if namespace.get("_root"):
                return super().__new__(mcs, name, bases, namespace)
            fields = list(namespace.get("__annotations__", {}))
            defaulted = [field in namespace for field in fields]
            if defaulted != sorted(defaulted):
                raise TypeError(f"{name}: a field without a default follows one with a default")
            defaults = [namespace[field] for field in fields if field in namespace]
            cls = _namedtuple(name, fields, defaults=defaults, module=namespace["__module__"])
            cls.__qualname__ = namespace.get("__qualname__", name)
            for key, value in namespace.items():
                if key in _RESERVED:
                    raise AttributeError(f"cannot overwrite NamedTuple attribute {key}")
                if key not in _KEEP_OUT and key not in fields:
                    setattr(cls, key, value)
            return cls

    class NamedTuple(metaclass=_NamedTupleMeta):
        """Base of pyss's records at run time (see the module's docstring)."""

        _root = True
