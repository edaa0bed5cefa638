"""Large lists decide exactly like a brute-force scan (no timing here: see bench/)."""

from __future__ import annotations

import ipaddress
import random

import pytest

from qtsmtp.config import entries
from qtsmtp.config import listtypes as lt
from qtsmtp.config.address import canonical_recipient
from qtsmtp.config.policy import RelayPolicy

T = lt.LIST_TYPES
FAR = canonical_recipient("user@far.example")


def _random_ip4_entries(rnd: random.Random, list_type: str, count: int,
                        first_octets: range) -> list[entries.Entry]:
    made = []
    for _ in range(count):
        prefix = rnd.randint(8, 32)
        # Host bits are left random on purpose: the entry must ignore them.
        address = rnd.choice(first_octets) << 24 | rnd.getrandbits(24)
        mask = str(ipaddress.IPv4Address(0xFFFFFFFF << (32 - prefix) & 0xFFFFFFFF))
        made.append(entries.ip4_entry(T[list_type], str(ipaddress.IPv4Address(address)), mask))
    return made


def _most_specific(nets: list[tuple[int, int, str]], bits: int, address: int) -> str | None:
    """The record of the longest entry holding ``address``: a plain scan of every entry."""
    best, best_prefix = None, -1
    for network, prefix, record in nets:
        if prefix > best_prefix and (address ^ network) >> (bits - prefix) == 0:
            best, best_prefix = record, prefix
    return best


def _as_scan(made: list[entries.Entry], v6: bool = False) -> list[tuple[int, int, str]]:
    def record(net) -> str:
        return f"{net.network_address.compressed} {net.prefixlen}" if v6 else \
            f"{net.network_address} {net.netmask}"
    return [(int(e.network.network_address), e.network.prefixlen, record(e.network)) for e in made]


def _inside(rnd: random.Random, entry: entries.Entry, bits: int) -> int:
    net = entry.network
    return int(net.network_address) | rnd.getrandbits(bits - net.prefixlen)


@pytest.mark.parametrize("count, samples", [(10, 2000), (200_000, 120)])
def test_ip4_lists_match_a_brute_force_scan(count: int, samples: int) -> None:
    rnd = random.Random(5321 + count)
    # Accept entries live in 1..127.x, reject entries in 128..191.x: random queries then
    # fall inside and outside both lists, and 192..255.x matches neither.
    accept = _random_ip4_entries(rnd, "*ACCEPT", count, range(1, 128))
    reject = _random_ip4_entries(rnd, "*REJECT", max(count // 100, 5), range(128, 192))
    policy = RelayPolicy.from_entries("*LIST", {"*ACCEPT": accept, "*REJECT": reject})
    accept_scan, reject_scan = _as_scan(accept), _as_scan(reject)

    queries = [rnd.getrandbits(32) for _ in range(samples // 2)]
    queries += [_inside(rnd, rnd.choice(accept), 32) for _ in range(samples // 3)]
    queries += [_inside(rnd, rnd.choice(reject), 32) for _ in range(samples // 6)]
    seen = {"accepted": 0, "refused relay": 0, "rejected": 0}
    for address in queries:
        client = str(ipaddress.IPv4Address(address))
        want_reject = _most_specific(reject_scan, 32, address)
        want_accept = _most_specific(accept_scan, 32, address)

        connect = policy.check_connect(client)
        rcpt = policy.check_recipient(client, FAR)
        if want_reject is not None:
            assert (connect.code, connect.entry) == (554, want_reject), client
            assert (rcpt.allowed, rcpt.rule, rcpt.entry) == (False, "REJECT", want_reject)
            seen["rejected"] += 1
        elif want_accept is not None:
            assert connect.allowed, client
            assert (rcpt.allowed, rcpt.list_name, rcpt.entry) == (True, "*ACCEPT", want_accept)
            seen["accepted"] += 1
        else:
            assert connect.allowed and not rcpt.allowed and rcpt.code == 550, client
            seen["refused relay"] += 1
        # The same client through a dual-stack socket decides the same way.
        mapped = policy.check_recipient(f"::ffff:{client}", FAR)
        assert (mapped.allowed, mapped.entry) == (rcpt.allowed, rcpt.entry)
    assert all(seen.values()), seen          # the sample really exercised every outcome


def test_ip6_lists_match_a_brute_force_scan() -> None:
    rnd = random.Random(2460)
    made = []
    for _ in range(5000):
        prefix = rnd.randint(40, 128)      # short enough to overlap, long enough to miss
        address = 0x2001 << 112 | rnd.getrandbits(112)
        made.append(entries.ip6_entry(T["*ACCEPTIP6"], str(ipaddress.IPv6Address(address)),
                                      prefix))
    policy = RelayPolicy.from_entries("*LIST", {"*ACCEPTIP6": made})
    scan = _as_scan(made, v6=True)
    queries = [0x2001 << 112 | rnd.getrandbits(112) for _ in range(100)]
    queries += [_inside(rnd, rnd.choice(made), 128) for _ in range(100)]
    hits = 0
    for address in queries:
        want = _most_specific(scan, 128, address)
        d = policy.check_recipient(str(ipaddress.IPv6Address(address)), FAR)
        assert d.allowed == (want is not None)
        if want is not None:
            assert (d.list_name, d.entry) == ("*ACCEPTIP6", want)
            hits += 1
    assert 0 < hits < len(queries)


def test_many_domain_entries_match_by_suffix() -> None:
    rnd = random.Random(2505)
    labels = [f"l{n}" for n in range(400)]
    names = {".".join(rnd.sample(labels, rnd.randint(1, 3))) + ".example" for _ in range(20000)}
    near = [entries.domain_entry(T["*NEAR"], ("." if rnd.random() < 0.5 else "") + name)
            for name in sorted(names)]
    policy = RelayPolicy.from_entries("*NEAR", {"*NEAR": near})
    exact = {e.domain for e in near if not e.domain.startswith(".")}
    suffix = {e.domain[1:] for e in near if e.domain.startswith(".")}
    for _ in range(300):
        domain = ".".join(rnd.sample(labels, rnd.randint(1, 4))) + ".example"
        parts = domain.split(".")
        want = domain in exact or any(".".join(parts[i:]) in suffix for i in range(len(parts)))
        d = policy.check_recipient("192.0.2.1", canonical_recipient(f"u@{domain}"))
        assert d.allowed == want, domain
