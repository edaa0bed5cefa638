"""Compiled command definitions kept beside their sources (qtsmtp.cl.defcache): a cached
definition is the one its source compiles to, and one made from another source, by
another compiler, or damaged is never used."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from qtsmtp.cl import defcache, definition


@pytest.fixture
def commands(tmp_path, monkeypatch):
    """A copy of commands/ that load() reads."""
    copy = tmp_path / "commands"
    shutil.copytree(definition.definitions_dir(), copy,
                    ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(definition, "definitions_dir", lambda: str(copy))
    definition.load.cache_clear()
    yield copy
    definition.load.cache_clear()


def fresh_load(name: str):
    definition.load.cache_clear()
    return definition.load(name)


def compiled(commands, name: str):
    return definition.compile_definition(name, (commands / f"{name}.cmd").read_text())


def test_every_definition_read_from_the_cache_is_the_one_compiled(commands):
    names = definition.command_names()
    for name in names:
        assert fresh_load(name) == compiled(commands, name)          # compiled, then kept
        assert (commands / "__pycache__" / f"{name}.cmd{defcache._SUFFIX}").exists()
    for name in names:
        cached = fresh_load(name)
        assert cached == compiled(commands, name), name
        assert cached.by_keyword.keys() == compiled(commands, name).by_keyword.keys()


def test_a_changed_source_or_compiler_is_compiled_again(commands, tmp_path, monkeypatch):
    fresh_load("ADDSMTPLE")
    source = commands / "ADDSMTPLE.cmd"
    text = source.read_text().replace("Add SMTP List Entry", "Add an SMTP list entry")
    assert "Add an SMTP list entry" in text
    source.write_text(text)
    assert fresh_load("ADDSMTPLE").prompt == "Add an SMTP list entry"
    # Another compiler (definition.py): nothing the one before made is used.
    made_by = {}
    monkeypatch.setattr(definition, "compile_definition",
                        lambda name, text, real=definition.compile_definition:
                        made_by.setdefault(name, real(name, text)))
    assert fresh_load("ADDSMTPLE").prompt == "Add an SMTP list entry" and not made_by
    other = tmp_path / "definition.py"
    other.write_text(Path(definition.__file__).read_text() + "# changed\n")
    monkeypatch.setattr(definition, "__file__", str(other))
    assert fresh_load("ADDSMTPLE") is made_by["ADDSMTPLE"]


def test_a_damaged_or_unwritable_cache_is_compiled_around(commands):
    expected = compiled(commands, "CHGSMTPA")
    fresh_load("CHGSMTPA")
    cache = commands / "__pycache__" / f"CHGSMTPA.cmd{defcache._SUFFIX}"
    for damage in (b"", b"\0" * 64, cache.read_bytes()[:-9]):
        cache.write_bytes(damage)
        assert fresh_load("CHGSMTPA") == expected
    shutil.rmtree(commands / "__pycache__")
    (commands / "__pycache__").write_text("not a directory")
    assert fresh_load("CHGSMTPA") == expected
    assert fresh_load("NOSUCHCMD") is None
