"""``contextmanager`` for the modules every CL command loads, without contextlib.

contextlib imports functools and collections: about 1.5 ms of every CL command's start
on a quiet machine, more under load (bench/bench_cl.py), for one decorator. This one
makes the same context managers from the same generators: ``__enter__`` runs the
generator to its ``yield`` and returns what it yields; ``__exit__`` runs it on, or
throws the with-block's exception into it, and answers as contextlib's
``_GeneratorContextManager.__exit__`` answers in each case (an exception the generator
swallows is swallowed, one it raises replaces the block's, and a generator that yields
again is a RuntimeError). tests/unit/test_store_context.py runs the same generators
through both. Not a decorator of functions, as contextlib's may be.

Imports nothing of ours; any room may use it.
"""

from __future__ import annotations


class _Generated:
    __slots__ = ("_generator",)

    def __init__(self, generator):
        self._generator = generator

    def __enter__(self):
        try:
            return next(self._generator)
        except StopIteration:
            raise RuntimeError("generator didn't yield") from None

    def __exit__(self, kind, value, traceback):
        if kind is None:
            try:
                next(self._generator)
            except StopIteration:
                return False
            raise RuntimeError("generator didn't stop")
        if value is None:
            value = kind()
        try:
            self._generator.throw(value)
        except StopIteration as stopped:
            return stopped is not value       # swallowed by the generator
        except RuntimeError as error:
            if error is value:
                error.__traceback__ = traceback
                return False
            if isinstance(value, StopIteration) and error.__cause__ is value:
                value.__traceback__ = traceback   # PEP 479 turned it into RuntimeError
                return False
            raise
        except BaseException as error:
            if error is not value:
                raise
            error.__traceback__ = traceback
            return False
        raise RuntimeError("generator didn't stop after throw()")


def contextmanager(function):
    """contextlib.contextmanager, for a generator function that yields once."""
    def make(*args, **kwargs):
        return _Generated(function(*args, **kwargs))
    make.__name__ = function.__name__
    make.__qualname__ = function.__qualname__
    make.__doc__ = function.__doc__
    make.__wrapped__ = function
    return make
