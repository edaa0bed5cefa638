"""Compiled command definitions kept beside their source, as Python keeps bytecode.

Compiling commands/NAME.cmd (lexing and parsing CL, then checking every PARM, ELEM and
PMTCTL) takes a millisecond or more of every command's start (5 ms for CHGSMTPA), for a
result that only changes with the file. ``commands/__pycache__/NAME.cmd.<python>.def``
holds the compiled Command in marshal's format (built in, so reading it loads nothing
else), and is used while it was made from that very source by that very compiler: the
.cmd file's and the compiler's (definition.py) size and modification time, and the
fields of the classes it holds, are written with it and compared on every load. Anything
else (no file, another key, a file that does not load) means compiling the source, and
then writing the file again when its directory lets us (write aside, rename: a reader
never sees half of one). It is a cache: nothing depends on its being there or written.
"""

from __future__ import annotations

import marshal
import os
import sys

from qtsmtp.cl import definition
from qtsmtp.cl.parser import Scalar, ValueList
from qtsmtp.record import Record

FORMAT = 1
_CLASSES = {cls.__name__: cls for cls in (definition.Command, definition.Parm,
                                          definition.ValueSpec, definition.PromptControl,
                                          Scalar, ValueList)}
_LAYOUT = tuple((name, cls._fields) for name, cls in sorted(_CLASSES.items()))
_RECORD = "\0record"            # the tag of an encoded Record: no definition value has it
_SUFFIX = f".{sys.implementation.cache_tag}.def"


def cache_path(source: str) -> str:
    directory, name = os.path.split(source)
    return os.path.join(directory, "__pycache__", name + _SUFFIX)


def key(st: os.stat_result) -> tuple:
    """What the cached form must have been made from: this source, this compiler."""
    compiler = os.stat(definition.__file__)
    return (FORMAT, _LAYOUT, st.st_size, st.st_mtime_ns, compiler.st_size,
            compiler.st_mtime_ns)


def load(source: str, st: os.stat_result) -> definition.Command | None:
    """The Command cached for ``source`` (whose stat is ``st``), or None."""
    try:
        with open(cache_path(source), "rb") as f:
            stored_key, data = marshal.loads(f.read())
        if stored_key != key(st):
            return None
        return _decode(data)
    # Missing, torn, or of another layout: compile the source instead.
    except (OSError, EOFError, ValueError, TypeError, KeyError, IndexError):
        return None


def store(source: str, st: os.stat_result, cmd: definition.Command) -> None:
    """Keep ``cmd``, compiled from ``source`` as ``st`` describes it, for the next load."""
    path = cache_path(source)
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        data = marshal.dumps((key(st), _encode(cmd)))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except (OSError, ValueError, TypeError):
        try:
            os.unlink(tmp)
        except OSError:
            pass            # read-only (a system-wide installation): compiled each time


def _encode(value):
    if isinstance(value, Record):
        name = type(value).__name__
        if _CLASSES.get(name) is not type(value):
            raise TypeError(f"not cached: {type(value)!r}")
        return (_RECORD, name, [_encode(getattr(value, field)) for field in value._fields])
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_encode(v) for v in value)
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"not cached: {type(value)!r}")


def _decode(value):
    if isinstance(value, tuple):
        if len(value) == 3 and value[0] == _RECORD:
            return _CLASSES[value[1]](*[_decode(v) for v in value[2]])
        return tuple(_decode(v) for v in value)
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        return {k: _decode(v) for k, v in value.items()}
    return value
