"""store.context.contextmanager against contextlib.contextmanager, and store.root's
str paths against pathlib: the CL path uses them instead (neither contextlib nor pathlib
is loaded by a CL command), so they must answer as those do."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qtsmtp.store import context
from qtsmtp.store.permissions import make_directory
from qtsmtp.store.root import join, normal_path


class Oops(Exception):
    pass


# Generators that do each thing a generator of a context manager can do.
def plain(log):
    log.append("enter")
    yield "value"
    log.append("exit")


def with_finally(log):
    try:
        yield 1
    finally:
        log.append("finally")


def swallows(log):
    try:
        yield 2
    except Oops:
        log.append("swallowed")


def replaces(log):
    try:
        yield 3
    except Oops:
        raise KeyError("replaced") from None


def reraises(log):
    try:
        yield 4
    except BaseException:
        log.append("saw")
        raise


def never_yields(log):
    if False:
        yield


def yields_twice(log):
    yield 5
    yield 6


def swallows_and_yields_again(log):
    try:
        yield 7
    except Oops:
        yield 8


GENERATORS = [plain, with_finally, swallows, replaces, reraises, never_yields, yields_twice,
              swallows_and_yields_again]
BODIES = {
    "nothing": lambda value: None,
    "Oops": lambda value: (_ for _ in ()).throw(Oops("body")),
    "KeyboardInterrupt": lambda value: (_ for _ in ()).throw(KeyboardInterrupt()),
    "StopIteration": lambda value: (_ for _ in ()).throw(StopIteration("stop")),
    "RuntimeError": lambda value: (_ for _ in ()).throw(RuntimeError("body")),
}


def run(decorator, generator, body):
    log: list = []
    manager = decorator(generator)
    try:
        with manager(log) as value:
            log.append(("value", value))
            body(value)
        log.append("after")
    except BaseException as error:       # noqa: BLE001 - what came out is what is compared
        log.append(("raised", type(error).__name__, str(error),
                    type(error.__cause__).__name__ if error.__cause__ else None))
    return log


@pytest.mark.parametrize("generator", GENERATORS, ids=lambda g: g.__name__)
@pytest.mark.parametrize("body", sorted(BODIES))
def test_the_same_as_contextlib(generator, body):
    ours = run(context.contextmanager, generator, BODIES[body])
    theirs = run(contextlib.contextmanager, generator, BODIES[body])
    assert ours == theirs


def test_name_and_doc_kept():
    def made():
        """Its doc."""
        yield
    wrapped = context.contextmanager(made)
    assert wrapped.__name__ == "made" and wrapped.__doc__ == "Its doc."


def test_the_cl_modules_use_it():
    from qtsmtp.jobs import table
    from qtsmtp.store import journal, member
    for module in (member, journal, table):
        assert "contextlib" not in vars(module)
        assert module.contextmanager is context.contextmanager
    assert "contextlib" not in sys.modules["qtsmtp.store.context"].__dict__


# --- str paths, as pathlib writes them ------------------------------------------------

path_text = st.lists(st.sampled_from(["", ".", "..", "a", "b c", "/", "//", "x.y", "é"]),
                     max_size=6).map("/".join)


@settings(max_examples=2000, deadline=None)
@given(st.one_of(path_text, st.text(alphabet="/.a", max_size=8)),
       st.lists(st.sampled_from(["QUSRSYS", "QATMADRLST", "ACCEPTRLY", "x.y"]), max_size=3))
def test_paths_read_as_pathlib_writes_them(text, names):
    assert normal_path(text) == str(PurePosixPath(text))
    assert join(normal_path(text), *names) == str(PurePosixPath(text, *names))


def test_make_directory_takes_and_gives_str_and_path(tmp_path):
    made = make_directory(str(tmp_path / "a" / "b"), 0o750)
    assert made == str(tmp_path / "a" / "b") and (tmp_path / "a" / "b").is_dir()
    assert (tmp_path / "a").stat().st_mode & 0o777 == 0o750
    assert make_directory(tmp_path / "c", 0o700) == tmp_path / "c"
    assert isinstance(make_directory(tmp_path / "c"), Path)
