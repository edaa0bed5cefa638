"""memberdiff: the lines RMVSMTPLE took out of a member, and whether a network still has
a record, must be exactly what comparing the parsed members would say."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from qtsmtp.config import memberdiff
from qtsmtp.config.memberdiff import has_network, removed_lines
from qtsmtp.config import listtypes as lt
from qtsmtp.config.entries import canonical_ip4_network

ACCEPT = lt.LIST_TYPES["*ACCEPT"]
LINES = [b"10.1.1.1 255.255.255.255", b"10.1.1.12 255.255.255.255", b"10.1.1.0 255.255.255.0",
         b"  10.1.1.77\t255.255.255.0", b"110.1.1.1 255.255.255.255", b"10.1.0.0 255.255.0.0",
         b"# office", b"", b"1", b"12", b"10.1.1.1 255.255.255.255\r"]
lines_st = st.lists(st.sampled_from(LINES), max_size=40)


def joined(lines) -> bytes:
    return b"".join(line + b"\n" for line in lines)


@settings(max_examples=500, deadline=None)
@given(lines_st, st.data())
def test_lines_taken_out_are_found(lines, data) -> None:
    drop = data.draw(st.sets(st.integers(0, max(len(lines) - 1, 0))) if lines else st.just(set()))
    kept = [line for number, line in enumerate(lines) if number not in drop]
    found = removed_lines(joined(lines), joined(kept))
    assert found is not None
    assert Counter(found) == Counter(lines[number] for number in drop)


@settings(max_examples=500, deadline=None)
@given(lines_st, lines_st)
def test_anything_else_is_not_called_a_removal(old, new) -> None:
    found = removed_lines(joined(old), joined(new))
    if found is not None:         # then new really is old less those lines, in order
        assert _in_order_within(new, old)
        assert Counter(old) - Counter(new) == Counter(found)
        assert len(old) - len(new) == len(found)
    else:
        assert not _in_order_within(new, old)


def _in_order_within(short, long) -> bool:
    rest = iter(long)
    return all(any(line == other for other in rest) for line in short)


def test_long_members_are_compared_across_blocks(monkeypatch) -> None:
    monkeypatch.setattr(memberdiff, "BLOCK", 64)
    lines = [b"10.%d.%d.1 255.255.255.255" % (n // 256, n % 256) for n in range(3000)]
    kept = [line for number, line in enumerate(lines) if number not in (0, 1499, 1500, 2999)]
    assert removed_lines(joined(lines), joined(kept)) == [lines[0], lines[1499], lines[1500],
                                                          lines[2999]]
    assert removed_lines(joined(lines), joined(kept[:-1] + [b"10.0.0.9 255.255.255.255"])) is None
    assert removed_lines(joined(lines), joined(lines)) == []


@settings(max_examples=300, deadline=None)
@given(lines_st, st.sampled_from([(0x0A010101, 32), (0x0A01010C, 32), (0x0A010100, 24),
                                  (0x0A010000, 16), (0x6E010101, 32), (0x0A000000, 8)]))
def test_has_network_is_what_parsing_every_line_says(lines, network) -> None:
    expected = any(canonical_ip4_network(ACCEPT, line.decode().rstrip("\r")) == network
                   for line in lines)
    found = has_network(ACCEPT, joined(lines), *network)
    assert found is None if network[1] < 16 else found == expected
