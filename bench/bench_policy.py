"""Relay decision cost at 10, 10,000 and 1,000,000 list entries.

    python bench/bench_policy.py

For each size, N random networks (/8../32, mixed) go into *ACCEPT for check_recipient and,
in a second policy, into *REJECT for check_connect. Queries are half "hits" (addresses
inside random entries) and half "misses" (outside every entry: the entries live in
0.0.0.0/1, misses in 128.0.0.0/1), since a miss probes every prefix length present and
is the slowest case. Prints microseconds per decision, the 1M/10 ratio (design target
<= 2: cost must not grow with the list), the RSS growth of the 1M-entry policy, and a
named peer: a naive scan over ipaddress networks, what a straightforward implementation
does (at 10 and 10,000 entries only: at 1M it would take hours).

Stdlib only, no network, everything bounded in count.
"""

from __future__ import annotations

import argparse
import gc
import ipaddress
import platform
import random
import time
from pathlib import Path

import _common  # noqa: F401  (the checkout's qtsmtp, under its venv if need be)

from qtsmtp.config import entries, listtypes as lt
from qtsmtp.config.address import canonical_recipient
from qtsmtp.config.policy import RelayPolicy, client_address

SIZES = (10, 10_000, 1_000_000)
DECISIONS = 20_000          # per timed run: half hits, half misses
REPEATS = 7                 # best of
NAIVE_QUERIES = 200         # the naive peer is slow: fewer queries, same per-decision unit
NAIVE_MAX_ENTRIES = 10_000
KEEP = 4096                 # entries sampled (reservoir) to aim hit queries at
FAR = canonical_recipient("user@far.example")


def vm_rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def random_entries(seed: int, count: int, list_type: str, sample: list, kept: list | None):
    """Yield ``count`` entries one at a time, validated as a member record would be
    (entries.ip4_entry), so the policy is built the way a loader streams a member."""
    rnd = random.Random(seed)
    for n in range(count):
        prefix = rnd.randint(8, 32)
        address = rnd.getrandbits(31)            # 0.0.0.0/1: misses come from the other half
        mask = 0xFFFFFFFF << (32 - prefix) & 0xFFFFFFFF
        if len(sample) < KEEP:
            sample.append((address & mask, prefix))
        elif rnd.random() < KEEP / (n + 1):
            sample[rnd.randrange(KEEP)] = (address & mask, prefix)
        entry = entries.ip4_entry(lt.LIST_TYPES[list_type], str(ipaddress.IPv4Address(address)),
                                  str(ipaddress.IPv4Address(mask)))
        if kept is not None:
            kept.append(entry)
        yield entry


def queries(seed: int, sample: list[tuple[int, int]]) -> tuple[list[str], list[str]]:
    rnd = random.Random(seed)
    hits = []
    for _ in range(DECISIONS // 2):
        network, prefix = rnd.choice(sample)
        hits.append(str(ipaddress.IPv4Address(network | rnd.getrandbits(32 - prefix))))
    misses = [str(ipaddress.IPv4Address(1 << 31 | rnd.getrandbits(31)))
              for _ in range(DECISIONS // 2)]
    return hits, misses


def run_us(decide, clients: list[str]) -> float:
    client_address.cache_clear()                # every decision pays for parsing its client
    start = time.perf_counter()
    for c in clients:
        decide(c)
    return (time.perf_counter() - start) * 1e6 / len(clients)


def per_decision_us(decide, clients: list[str]) -> float:
    return min(run_us(decide, clients) for _ in range(REPEATS))


def naive_us(kept: list[entries.Entry], clients: list[str]) -> float:
    networks = [e.network for e in kept]

    def decide(c: str) -> bool:
        address = ipaddress.ip_address(c)
        return any(address in net for net in networks)

    return per_decision_us(decide, clients[:NAIVE_QUERIES])


def build(size: int, list_type: str, sample: list, kept: list | None) -> tuple[RelayPolicy, float]:
    start = time.perf_counter()
    policy = RelayPolicy.from_entries("*LIST", {list_type: random_entries(size, size, list_type,
                                                                          sample, kept)})
    return policy, time.perf_counter() - start


def canonical_us() -> float:
    addresses = ["user@far.example", "john.smith@mail.corp.example",
                 "relaytest%nmap.scanme.org@[127.0.0.1]", '"john smith"@corp.example'] * 2500
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        for a in addresses:
            canonical_recipient(a)
        best = min(best, time.perf_counter() - start)
    return best * 1e6 / len(addresses)


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()   # --help
    print(f"qtsmtp relay policy benchmark: Python {platform.python_version()}, {DECISIONS:,} "
          f"decisions per run (half hits, half misses), best of {REPEATS} interleaved runs, "
          f"a new client address per decision")
    # Build everything first (the largest *ACCEPT policy first of all, on a clean heap, for
    # its RSS growth), then time the sizes in turn within each repeat: on a busy machine
    # the sizes then share the same load and the ratio stays meaningful.
    built: dict[int, dict] = {}
    rss = (0, 0)
    for size in sorted(SIZES, reverse=True):
        sample: list[tuple[int, int]] = []
        kept: list[entries.Entry] | None = [] if size <= NAIVE_MAX_ENTRIES else None
        gc.collect()
        rss_before = vm_rss_kb()
        accept, load = build(size, "*ACCEPT", sample, kept)
        gc.collect()
        if size == max(SIZES):
            rss = (rss_before, vm_rss_kb())
        reject, _ = build(size, "*REJECT", [], None)
        hits, misses = queries(size + 1, sample)
        assert all(accept.check_recipient(c, FAR).allowed for c in hits[:1000])
        assert not any(accept.check_recipient(c, FAR).allowed for c in misses[:1000])
        naive = (naive_us(kept, hits[:NAIVE_QUERIES // 2] + misses[:NAIVE_QUERIES // 2])
                 if kept is not None else None)
        built[size] = {"accept": accept, "reject": reject, "hits": hits, "misses": misses,
                       "load": load, "naive": naive}

    best: dict[tuple[int, str], float] = {}
    for _ in range(REPEATS):
        for size in SIZES:
            b = built[size]
            runs = {
                "connect hit": (b["reject"].check_connect, b["hits"]),
                "connect miss": (b["reject"].check_connect, b["misses"]),
                "rcpt hit": (lambda c, p=b["accept"]: p.check_recipient(c, FAR), b["hits"]),
                "rcpt miss": (lambda c, p=b["accept"]: p.check_recipient(c, FAR), b["misses"]),
            }
            for kind, (decide, clients) in runs.items():
                us = run_us(decide, clients)
                best[size, kind] = min(us, best.get((size, kind), us))

    print(f"{'entries':>10} {'load us/entry':>14} {'check_connect us':>17} "
          f"{'check_recipient us':>19} {'rcpt hit / miss':>16} {'naive scan us':>14}")
    mixed: dict[int, tuple[float, float]] = {}
    for size in SIZES:
        b = built[size]
        connect = (best[size, "connect hit"] + best[size, "connect miss"]) / 2
        rcpt = (best[size, "rcpt hit"] + best[size, "rcpt miss"]) / 2
        mixed[size] = (connect, rcpt)
        naive = f"{b['naive']:.2f}" if b["naive"] is not None else "not run"
        print(f"{size:>10,} {b['load'] / size * 1e6:>14.1f} {connect:>17.2f} {rcpt:>19.2f} "
              f"{best[size, 'rcpt hit']:>7.2f} / {best[size, 'rcpt miss']:<6.2f} {naive:>14}")

    lo, hi = SIZES[0], SIZES[-1]
    print(f"ratio {hi:,}/{lo} entries: check_connect {mixed[hi][0] / mixed[lo][0]:.2f}, "
          f"check_recipient {mixed[hi][1] / mixed[lo][1]:.2f} (target <= 2); hits only "
          f"{best[hi, 'rcpt hit'] / best[lo, 'rcpt hit']:.2f}, misses only "
          f"{best[hi, 'rcpt miss'] / best[lo, 'rcpt miss']:.2f}")
    before, after = rss
    print(f"RSS growth of the {hi:,}-entry policy: {(after - before) / 1024:.1f} MB "
          f"(VmRSS {before / 1024:.1f} MB -> {after / 1024:.1f} MB)")
    print(f"canonical_recipient: {canonical_us():.2f} us per address")


if __name__ == "__main__":
    main()
