"""Server memory and load time with 1,000,000 *ACCEPT entries.

    python bench/bench_memory.py [--entries 1000000]

Writes N distinct *ACCEPT entries (mixed prefix lengths: 40 % /32, 40 % /24../31, 20 %
/16../23, host bits kept as a person types them) into the ACCEPTRLY member of a temporary
root, in the form ADDSMTPLE writes ("a.b.c.d m.m.m.m"), then:

- times, in this process, reading a sample of those records with entries.parse_record
  (the full parser) and with entries.parse_record_fast (what the server's loader uses),
  and compiling the whole policy as the server does (policyload.compile_policy);
- starts the server with STRTCPSVR on that root and a free port, as an operator would
  (the command returns once every job is up, so its time is the server's start time,
  the policy compile included), waits until it answers 220 (the peer, in the same run:
  the same start on a root whose list holds 10 entries, timed the same way, before and
  after, ``--starts`` times each; the medians and their ratio are printed), and reads from /proc the
  memory of every job of the server: VmRSS (resident, shared pages counted in every
  process that maps them) and Pss (each shared page divided among the processes that
  share it: the sum is what the server really holds);
- ends the server with ENDTCPSVR, and checks that no process of it is left.

Targets (issue 15): start to the first 220 at most 2 s; the largest VmRSS at most 80 MB. Printed: per job (and per server job's commit
process), VmRSS and Pss; the largest VmRSS and the total Pss. Nothing listens beyond 127.0.0.1; every wait is bounded.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import children, jobs, new_root, server_running, wait_for_greeting

from qtsmtp.config import policyload
from qtsmtp.config import entries, listtypes as lt

TARGET_MB = 80
TARGET_START_SECONDS = 2.0
SAMPLE = 100_000                 # records timed per parser
START_TIMEOUT_SECONDS = 600      # STRTCPSVR with a million entries on a slow machine


def dotted(n: int) -> str:
    return f"{n >> 24}.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


def accept_records(count: int, seed: int = 1) -> list[str]:
    rnd = random.Random(seed)
    seen: set[tuple[int, int]] = set()
    records = []
    while len(records) < count:
        pick = rnd.random()
        prefix = 32 if pick < 0.4 else rnd.randint(24, 31) if pick < 0.8 else rnd.randint(16, 23)
        address = rnd.getrandbits(32)
        mask = 0xFFFFFFFF << (32 - prefix) & 0xFFFFFFFF
        if (address & mask, prefix) in seen:
            continue
        seen.add((address & mask, prefix))
        records.append(f"{dotted(address)} {dotted(mask)}")
    return records


def per_record_us(parse, list_type, lines: list[str]) -> float:
    start = time.perf_counter()
    for line in lines:
        parse(list_type, line)
    return (time.perf_counter() - start) * 1e6 / len(lines)


def memory_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, Pss) of a process, in kB."""
    rss = pss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            pss = int(line.split()[1])
    return rss, pss


def time_to_greeting(root: Path, env: dict, port: int) -> float:
    """Seconds from STRTCPSVR to the first 220 on ``port``; the server is ended again."""
    started = time.perf_counter()
    with server_running(root, env, start_timeout=START_TIMEOUT_SECONDS):
        wait_for_greeting(port, "the server", START_TIMEOUT_SECONDS)
        return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--starts", type=int, default=3, help="timed starts of each root")
    args = parser.parse_args()
    accept = lt.LIST_TYPES["*ACCEPT"]
    with tempfile.TemporaryDirectory(prefix="qtsmtp-bench-memory-") as tmp:
        root = Path(tmp)
        env, port = new_root(root)
        records = accept_records(args.entries)
        member = root / "QUSRSYS" / "QATMADRLST" / "ACCEPTRLY"
        member.write_text("".join(r + "\n" for r in records))
        print(f"{args.entries:,} *ACCEPT entries in {member.name} "
              f"({member.stat().st_size / 1e6:.1f} MB); Python {sys.version.split()[0]}")

        sample = records[:SAMPLE]
        slow = per_record_us(entries.parse_record, accept, sample)
        fast_parse = getattr(entries, "parse_record_fast", None)
        if fast_parse is not None:
            fast = per_record_us(fast_parse, accept, sample)
            print(f"per record: parse_record {slow:.1f} us, parse_record_fast {fast:.1f} us "
                  f"({slow / fast:.1f}x)")
        else:
            print(f"per record: parse_record {slow:.1f} us (no parse_record_fast here)")
        records = sample = None
        start = time.perf_counter()
        compiled = policyload.compile_policy(root, "bench.test", ("127.0.0.1",))
        print(f"compile_policy in this process: {time.perf_counter() - start:.1f} s "
              f"({compiled.summary()})")
        compiled = None

        with tempfile.TemporaryDirectory(prefix="qtsmtp-bench-memory-peer-") as peer_tmp:
            peer = Path(peer_tmp)
            peer_env, peer_port = new_root(peer)
            (peer / "QUSRSYS" / "QATMADRLST" / "ACCEPTRLY").write_text(
                "".join(r + "\n" for r in accept_records(10)))
            small, large = [], []
            for _ in range(args.starts):      # interleaved: both share the machine's load
                small.append(time_to_greeting(peer, peer_env, peer_port))
                large.append(time_to_greeting(root, env, port))
        small_s, large_s = statistics.median(small), statistics.median(large)
        print(f"STRTCPSVR until the first 220 (median of {args.starts}): 10 entries "
              f"{small_s:.2f} s, {args.entries:,} entries {large_s:.2f} s, ratio "
              f"{large_s / small_s:.2f} (target: at most {TARGET_START_SECONDS:g} s)")

        with server_running(root, env, start_timeout=START_TIMEOUT_SECONDS) as seen:
            wait_for_greeting(port, "the server", START_TIMEOUT_SECONDS)
            time.sleep(1.0)          # let the jobs settle (the client job's first scan)
            print(f"{'process':<14}{'pid':>8}{'VmRSS MB':>10}{'Pss MB':>9}")
            largest = total_pss = 0
            processes = []
            for job in jobs(root):
                processes.append((job["name"], job["pid"]))
                # the server job's queue commit process (qtsmtp-server(8))
                processes += [("QTSMTPQCOMMIT", pid) for pid in children(job["pid"], "QTSMTPQCOMMIT")]
            for name, pid in processes:
                seen.add(pid)
                rss, pss = memory_kb(pid)
                largest, total_pss = max(largest, rss), total_pss + pss
                print(f"{name:<14}{pid:>8}{rss / 1024:>10.1f}{pss / 1024:>9.1f}")
            print(f"largest VmRSS {largest / 1024:.1f} MB, total Pss {total_pss / 1024:.1f} MB "
                  f"(target: at most {TARGET_MB} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
