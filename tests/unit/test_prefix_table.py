"""PrefixTable's sorted key arrays: every change, batched or one by one, small table or
large, leaves the same entries as a plain set would, and never writes an array that a
copy (an older policy) still uses."""

from __future__ import annotations

import random

import pytest

from qtsmtp.config import prefixtable
from qtsmtp.config.policy import ADD, REMOVE, RelayPolicy
from qtsmtp.config.prefixtable import PrefixTable


def _entries(table: PrefixTable) -> set[tuple[int, int]]:
    return {(key << (table.bits - prefix), prefix)
            for prefix, keys in table._by_prefix.items() for key in keys}


@pytest.mark.parametrize("size", [5, prefixtable.SMALL + 1, 3000])
def test_changes_leave_what_a_set_would(size: int) -> None:
    rnd = random.Random(size)
    prefixes = [16, 24, 30, 32]

    def pick() -> tuple[int, int]:
        prefix = rnd.choice(prefixes)
        network = rnd.getrandbits(12) << 20 & (0xFFFFFFFF << (32 - prefix))
        return network | (rnd.getrandbits(20) >> prefix << prefix & 0xFFFFF), prefix

    table = PrefixTable(32, "*ACCEPT")
    model: set[tuple[int, int]] = set()
    start = [pick() for _ in range(size)]
    for network, prefix in start:
        table.add(network, prefix)
        model.add((network >> (32 - prefix) << (32 - prefix), prefix))
    assert _entries(table) == model
    for _ in range(40):
        older, older_model = table.copy(), set(model)
        arrays = {prefix: (keys, list(keys)) for prefix, keys in older._by_prefix.items()}
        adds = {}
        drops = {}
        for _ in range(rnd.randint(1, 30)):
            network, prefix = rnd.choice(start) if rnd.random() < 0.5 else pick()
            key = network >> (32 - prefix)
            if rnd.random() < 0.5:
                adds.setdefault(prefix, []).append(key)
                drops.get(prefix, set()).discard(key)
                model.add((key << (32 - prefix), prefix))
            else:
                drops.setdefault(prefix, set()).add(key)
                if key in adds.get(prefix, ()):
                    adds[prefix] = [k for k in adds[prefix] if k != key]
                model.discard((key << (32 - prefix), prefix))
        table.update(adds, drops)
        assert _entries(table) == model
        for network, prefix in model:
            assert table.match(network) >= prefix
        # The copy taken before the change is untouched, arrays and answers.
        assert _entries(older) == older_model
        for prefix, (keys, content) in arrays.items():
            assert list(keys) == content
        assert all(list(k) == sorted(set(k)) for k in table._by_prefix.values())


def test_a_batch_of_changes_keeps_the_order_they_were_made_in() -> None:
    entry = (0x0A000001, 32)
    base = RelayPolicy.from_entries("*LIST", {"*ACCEPT": [entry, (0x0A000002, 32)]})
    gone_then_back = base.with_changes([(REMOVE, "*ACCEPT", [entry]), (ADD, "*ACCEPT", [entry])])
    back_then_gone = base.with_changes([(ADD, "*ACCEPT", [entry]), (REMOVE, "*ACCEPT", [entry])])
    assert gone_then_back._accept4.match(0x0A000001) == 32
    assert back_then_gone._accept4.match(0x0A000001) == -1
    assert back_then_gone._accept4.match(0x0A000002) == 32
    assert base._accept4.match(0x0A000001) == 32            # the old policy as it was


def test_ipv6_keys_beyond_32_bits_are_kept_whole() -> None:
    table = PrefixTable(128, "*ACCEPTIP6")
    for n in range(200):
        table.add((0x20010DB8 << 96) | (n << 64), 64)
    assert table.match((0x20010DB8 << 96) | (150 << 64) | 7) == 64
    assert table.match((0x20010DB8 << 96) | (250 << 64)) == -1
    table.discard((0x20010DB8 << 96) | (150 << 64), 64)
    assert table.match((0x20010DB8 << 96) | (150 << 64) | 7) == -1
    assert len(table) == 199
