"""Plain data classes for the modules every CL command loads, without ``dataclasses``.

Importing dataclasses loads inspect, and with it ast, dis, tokenize and linecache: about
9 ms of CPU at every command's start, and each @dataclass compiles its methods with
exec (bench/bench_cl.py: the CL form is measured against ``python -c pass``). A
``Record`` gets the same behaviour from its annotations, with nothing compiled:
``__init__`` (positional or keyword, defaults, ``field(default_factory=...)``,
``__post_init__``), ``__eq__`` and ``__repr__`` over the fields, ``__hash__`` and no
assignment when frozen, ``replace(**changes)`` and ``as_dict()``. A class that is made
very often (a token, a parsed value) may still write its own ``__init__``.

Imports nothing of ours; any room may use it.
"""

from __future__ import annotations


class _Factory:
    __slots__ = ("make",)

    def __init__(self, make):
        self.make = make


def field(*, default_factory):
    """A default made anew for each instance (a list, a dict)."""
    return _Factory(default_factory)


class Record:
    """Subclass with annotated fields; ``class X(Record, frozen=True)`` for a frozen one."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()
    _defaults: dict = {}
    _frozen = False

    def __init_subclass__(cls, frozen: bool = False, **kw):
        super().__init_subclass__(**kw)
        slots = cls.__dict__.get("__slots__", ())
        own = [n for n in cls.__dict__.get("__annotations__", {})
               if not n.startswith("_")]
        cls._fields = tuple(dict.fromkeys([*cls._fields, *own]))
        defaults = dict(cls._defaults)
        for name in own:
            if name in cls.__dict__ and name not in slots:
                defaults[name] = cls.__dict__[name]
                if isinstance(defaults[name], _Factory):
                    delattr(cls, name)
        cls._defaults = defaults
        cls._frozen = frozen or cls._frozen
        if cls._frozen:
            cls.__hash__ = Record._hash
            cls.__setattr__ = Record._refuse

    def __init__(self, *args, **kwargs):
        fields = self._fields
        if len(args) > len(fields):
            raise TypeError(f"{type(self).__name__} takes {len(fields)} values, {len(args)} given")
        put = object.__setattr__
        for name, value in zip(fields, args):
            put(self, name, value)
        for name in fields[len(args):]:
            if name in kwargs:
                value = kwargs.pop(name)
            elif name in self._defaults:
                value = self._defaults[name]
                if isinstance(value, _Factory):
                    value = value.make()
            else:
                raise TypeError(f"{type(self).__name__} needs {name}")
            put(self, name, value)
        if kwargs:
            raise TypeError(f"{type(self).__name__} has no field {next(iter(kwargs))}")
        post = getattr(self, "__post_init__", None)
        if post is not None:
            post()

    def _refuse(self, name, value):
        raise AttributeError(f"{type(self).__name__} is frozen: cannot assign to {name}")

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def _hash(self):
        return hash(self._values())

    def __repr__(self) -> str:
        inside = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({inside})"

    def replace(self, **changes):
        """A copy with ``changes`` (dataclasses.replace)."""
        return type(self)(**{**{n: getattr(self, n) for n in self._fields}, **changes})

    def as_dict(self) -> dict:
        """The fields and their values (dataclasses.asdict, one level)."""
        return {name: getattr(self, name) for name in self._fields}
