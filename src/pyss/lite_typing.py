"""What the plain-listing path needs from :mod:`typing`, without importing typing when it runs.

Importing typing pulls in re, enum, functools and contextlib: about 40 million
instructions, more than everything `python -c pass` does (~38 million, callgrind),
and so the largest share of `pyss -tan`'s start-up. Modules on that path take
``NamedTuple`` and ``TYPE_CHECKING`` from here and keep their other typing
names under ``if TYPE_CHECKING:`` (annotations are strings, PEP 563).

Type checkers see typing's own ``NamedTuple``. At run time a class written
``class Point(NamedTuple): x: int; y: int = 0`` becomes a tuple subclass with
what ``collections.namedtuple("Point", ["x", "y"], defaults=[0])`` gives it
(the same fields, defaults, ``_make``/``_replace``/``_asdict``, repr, pickling
and tuple behaviour) and the class body's methods, properties and docstring.
It is built here rather than by collections.namedtuple: importing collections
(~7M instructions with operator, reprlib, keyword) and namedtuple's ``eval`` of
a generated ``__new__`` (~0.3M each, 18 classes on the plain-listing path) cost
a third of what `python -c pass` takes. Records are decoded with
``tuple.__new__``, so the generic ``__new__`` below is off the per-socket path.
"""

from __future__ import annotations

__all__ = ["TYPE_CHECKING", "NamedTuple"]

TYPE_CHECKING = False  # type checkers treat any name TYPE_CHECKING as true

if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from _collections import _tuplegetter  # namedtuple's field accessor, in C

    _tuple_new = tuple.__new__
    _MISSING = object()

    # Class-body names that the tuple class makes itself, or that do not belong on the class.
    _KEEP_OUT = frozenset({"__module__", "__qualname__", "__annotations__", "__dict__", "__weakref__",
                           "__slots__", "_root"})
    _RESERVED = frozenset({"__new__", "__init__", "__getnewargs__", "_make", "_replace", "_asdict", "_fields",
                           "_field_defaults"})

    def _constructor(name, fields, defaults):
        """__new__(cls, *fields): positional and keyword arguments checked as a generated signature would."""
        size, index = len(fields), {field: position for position, field in enumerate(fields)}
        first_default = size - len(defaults)

        def new(cls, *args, **kwargs):
            if not kwargs and first_default <= len(args) <= size:
                return _tuple_new(cls, args + defaults[len(args) - first_default:] if len(args) < size else args)
            if len(args) > size:
                raise TypeError(f"{name}.__new__() takes {size + 1} positional arguments but {len(args) + 1} "
                                "were given")
            values = [*args, *[_MISSING] * (size - len(args))]
            for key, value in kwargs.items():
                position = index.get(key)
                if position is None:
                    raise TypeError(f"{name}.__new__() got an unexpected keyword argument '{key}'")
                if values[position] is not _MISSING:
                    raise TypeError(f"{name}.__new__() got multiple values for argument '{key}'")
                values[position] = value
            for position in range(len(args), size):
                if values[position] is _MISSING:
                    if position < first_default:
                        raise TypeError(f"{name}.__new__() missing required argument: '{fields[position]}'")
                    values[position] = defaults[position - first_default]
            return _tuple_new(cls, values)

        return new

    def _make(cls, iterable):
        result = _tuple_new(cls, iterable)
        if len(result) != len(cls._fields):
            raise TypeError(f"Expected {len(cls._fields)} arguments, got {len(result)}")
        return result

    def _replace(self, /, **changes):
        result = self._make(map(changes.pop, self._fields, self))
        if changes:
            raise ValueError(f"Got unexpected field names: {list(changes)!r}")
        return result

    def _repr(self):
        pairs = ", ".join(f"{field}={value!r}" for field, value in zip(self._fields, self, strict=True))
        return f"{type(self).__name__}({pairs})"

    def _asdict(self):
        return dict(zip(self._fields, self, strict=True))

    def _getnewargs(self):
        return tuple(self)

    class _NamedTupleMeta(type):
        def __new__(mcs, name, bases, namespace):
            if namespace.get("_root"):
                return super().__new__(mcs, name, bases, namespace)
            fields = tuple(namespace.get("__annotations__", {}))
            defaulted = [field in namespace for field in fields]
            if defaulted != sorted(defaulted):
                raise TypeError(f"{name}: a field without a default follows one with a default")
            defaults = tuple(namespace[field] for field in fields if field in namespace)
            body = {"__doc__": f"{name}({', '.join(fields)})", "__slots__": (), "_fields": fields,
                    "_field_defaults": dict(zip(fields[len(fields) - len(defaults):], defaults, strict=True)),
                    "__new__": _constructor(name, fields, defaults), "_make": classmethod(_make),
                    "_replace": _replace, "__repr__": _repr, "_asdict": _asdict, "__getnewargs__": _getnewargs,
                    "__match_args__": fields, "__module__": namespace["__module__"],
                    "__qualname__": namespace.get("__qualname__", name)}
            for position, field in enumerate(fields):
                body[field] = _tuplegetter(position, f"Alias for field number {position}")
            for key, value in namespace.items():
                if key in _RESERVED:
                    raise AttributeError(f"cannot overwrite NamedTuple attribute {key}")
                if key not in _KEEP_OUT and key not in fields and (key != "__doc__" or value is not None):
                    body[key] = value
            return type(name, (tuple,), body)

    class NamedTuple(metaclass=_NamedTupleMeta):
        """Base of pyss's records at run time (see the module's docstring)."""

        _root = True
