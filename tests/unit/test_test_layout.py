"""The suite runs in pytest's default (prepend) import mode, where a test module is
imported by its base name: two test files with one name would break collection."""

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_test_module_names_are_unique():
    names = Counter(p.name for p in TESTS.rglob("*.py") if p.name != "conftest.py"
                    and "__pycache__" not in p.parts)
    assert [n for n, count in names.items() if count > 1] == []
