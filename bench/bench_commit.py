"""The hand-off to the queue commit process alone: a server job's side (CommitProcess and
Spool, on uvloop as in a job) and its commit process, without SMTP, measured in CPU per
message and messages per second.

    python bench/bench_commit.py [--jobs 2] [--sessions 10] [--messages 3000]
                                 [--think-us 300] [--rounds 3] [--baseline TREE]

Each of --jobs processes (a server job: 2 on this machine, SVRJOBS(*CPU)) starts its
commit process on one queue, on the file system of the system's temporary directory
(its type is printed: on tmpfs every fsync is free), and runs --sessions sessions at once,
each storing --messages / (jobs x sessions) messages of 1 KB one after the other, as a
session of ``smtp-source -d`` does: open (the Received: line), write, commit, and before
the next one --think-us of CPU in the job's loop (a session's SMTP work, which in a real
job delays the other sessions' hand-offs too: it shapes the batches). Printed per
version: messages per second, the job's CPU per message without the think time, the
commit process's CPU per message and its user part (getrusage; the rest is the kernel's:
creating, fsyncing and renaming the files, which on ext4 without a journal costs more
while many inodes of the directory's group were deleted in the last minutes), the commit
latency (median and 90th percentile, from commit() to its return) and the mean batch
(messages per answer read). With --baseline TREE (a ``git archive`` of another commit),
that version runs too, in turns within each round; the queues stay until the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]


def _job(root: Path, sessions: int, messages: int, think_us: int, out: Path) -> None:
    import uvloop

    from qtsmtp.queue import format as qformat
    from qtsmtp.queue.writer import QueueWriter
    from qtsmtp.server import committer

    answers_read = [0]
    original = committer._Answers.data_received

    def counted(self, data):
        answers_read[0] += 1
        return original(self, data)

    committer._Answers.data_received = counted
    qformat.prepare(root)
    body = (b"Subject: bench\r\n\r\n" + b"x" * 1000 + b"\r\n")
    think = think_us / 1e6
    latencies: list[float] = []

    async def session(process, count: int) -> None:
        for _ in range(count):
            end = time.perf_counter() + think
            while time.perf_counter() < end:
                pass
            queue_id = process.new_id()
            record = {"id": queue_id, "arrival": "2026-12-05T00:00:00+00:00",
                      "client": "127.0.0.1", "client_port": 40000, "helo": "client.test",
                      "protocol": "ESMTP", "sender": "bench@client.test",
                      "recipients": ["postmaster@bench.test"],
                      "written": ["postmaster@bench.test"], "size": 0, "server_job": "000001",
                      "trusted": True}
            received = (b"Received: from client.test (127.0.0.1)\r\n\tby bench.test with ESMTP"
                        b" id " + queue_id.encode() + b"; Sat, 5 Dec 2026 00:00:00 +0000\r\n")
            spool = await process.open(queue_id, record, received)
            await spool.write(body)
            started = time.perf_counter()
            await spool.commit()
            latencies.append(time.perf_counter() - started)

    async def run() -> tuple[float, float]:
        process = committer.CommitProcess(QueueWriter(root))
        await process.start()
        cpu = time.process_time()
        began = time.perf_counter()
        each, extra = divmod(messages, sessions)
        await asyncio.gather(*(session(process, each + (n < extra)) for n in range(sessions)))
        wall = time.perf_counter() - began
        cpu = time.process_time() - cpu
        await process.close()
        return wall, cpu

    wall, cpu = uvloop.run(run())
    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    out.write_text(json.dumps({
        "messages": messages, "wall": wall, "job_cpu": cpu - messages * think,
        "commit_cpu": child.ru_utime + child.ru_stime, "commit_user": child.ru_utime,
        "latencies": latencies,
        "answers_read": answers_read[0]}))


def _one_run(tree: Path, args, top: Path) -> dict:
    root = Path(tempfile.mkdtemp(dir=top))
    env = {**os.environ, "PYTHONPATH": str(tree)}
    outs = [root / f"job{n}.json" for n in range(args.jobs)]
    each, extra = divmod(args.messages, args.jobs)
    jobs = [subprocess.Popen([sys.executable, __file__, "--job", str(root), str(out),
                              str(args.sessions), str(each + (n < extra)), str(args.think_us)],
                             env=env, cwd=tree)
            for n, out in enumerate(outs)]
    for job in jobs:
        if job.wait(timeout=600) != 0:
            raise SystemExit(f"a job of {tree} failed")
    results = [json.loads(out.read_text()) for out in outs]
    queued = len(os.listdir(root / "queue" / "incoming"))
    if queued != args.messages:
        raise SystemExit(f"{tree}: {queued} messages in incoming/, not {args.messages}")
    latencies = sorted(x for r in results for x in r["latencies"])
    return {
        "rate": args.messages / max(r["wall"] for r in results),
        "job": sum(r["job_cpu"] for r in results) / args.messages * 1e6,
        "commit": sum(r["commit_cpu"] for r in results) / args.messages * 1e6,
        "user": sum(r["commit_user"] for r in results) / args.messages * 1e6,
        "p50": latencies[len(latencies) // 2] * 1e6,
        "p90": latencies[len(latencies) * 9 // 10] * 1e6,
        "batch": args.messages / max(1, sum(r["answers_read"] for r in results)),
    }


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--job":
        root, out, sessions, messages, think = sys.argv[2:7]
        _job(Path(root), int(sessions), int(messages), int(think), Path(out))
        return 0
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--think-us", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", type=Path, action="append", default=[])
    args = parser.parse_args()
    trees = [CHECKOUT, *args.baseline]
    names = ["this", *(str(t) for t in args.baseline)]
    rows: dict[str, list[dict]] = {name: [] for name in names}
    from _common import spread_subdirectories, where_files_are
    with tempfile.TemporaryDirectory(prefix="qtsmtp-bench-commit-") as tmp:
        kind = subprocess.run(["stat", "-f", "-c", "%T", tmp], capture_output=True,
                              text=True, check=False).stdout.strip()
        # Each run's queue (_one_run: a new-named directory in tmp) in a block group of
        # its own: a create costs what was deleted near it (_common.spread_subdirectories).
        not_spread = spread_subdirectories(Path(tmp))
        print(f"{args.jobs} jobs x {args.sessions} sessions, {args.messages} messages of 1 KB, "
              f"think {args.think_us} us; queue on {kind}, "
              f"{where_files_are(not_spread).replace('server', 'run')}; load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        for _ in range(args.rounds):
            for name, tree in zip(names, trees):
                rows[name].append(_one_run(tree, args, Path(tmp)))
    print(f"{'version':<28}{'msg/s':>8}{'job us':>8}{'commit us':>11}{'of which user':>15}"
          f"{'p50 us':>9}"
          f"{'p90 us':>9}{'batch':>7}")
    for name in names:
        median = {key: statistics.median(r[key] for r in rows[name]) for key in rows[name][0]}
        print(f"{name[-28:]:<28}{median['rate']:>8.0f}{median['job']:>8.0f}"
              f"{median['commit']:>11.0f}{median['user']:>15.0f}{median['p50']:>9.0f}"
              f"{median['p90']:>9.0f}"
              f"{median['batch']:>7.2f}")
    print(f"medians of {args.rounds} rounds; load average after "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
