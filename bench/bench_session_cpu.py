"""The server job's own CPU per message, without the network, the disk or other processes:
qtsmtp's session code against a bare aiosmtpd, in one process each.

    python bench/bench_session_cpu.py [--messages 2000] [--rounds 5] [--baseline TREE]

bench_throughput measures the whole receive path under smtp-source; on a machine shared
with other work its CPU figures move by 10 % from one run to the next, more than most
changes to the server job's Python are worth. Here the server job's objects (ServerJob,
its session factory, handler, policy, job log, connection checks) serve sessions shaped
like smtp-source's (HELO, MAIL, RCPT, DATA with a 1 KB message, QUIT) over fake
transports in one process on uvloop, and the process's CPU time is divided by the
messages. What is left out: the kernel's side of the sockets, uvloop's reading and
writing, the hand-off to the commit process (its answer comes at once; nothing is
written) and everything the commit process does. The same sessions against a bare
aiosmtpd on uvloop (a handler that answers 250 and keeps nothing) give its figure.

Two scenarios: a new connection per message, and many messages per connection (as
smtp-source's -d), 10 sessions at a time. Each figure is the smallest of --rounds runs
(the run least disturbed by the rest of the machine) and the median beside it; each run
is a process of its own, the versions taking turns. --baseline TREE (a git archive of
another commit) runs that version's qtsmtp too, as bench_throughput's --baseline does.
The CPU columns are qtsmtp's CPU over the other's: below 1.0, qtsmtp spends less.
The worker uses the server job's classes as they are at this commit (ServerJob's
arguments, CommitProcess's frame sending): a baseline much older may not run here.
"""

from __future__ import annotations

import sys

if __name__ == "__main__" and sys.argv[1:2] == ["--worker"]:
    # One run, in a process of its own (PYTHONPATH chooses the qtsmtp); prints the CPU
    # time per message in microseconds.
    import asyncio
    import os
    import time
    from pathlib import Path

    import uvloop
    from aiosmtpd.smtp import SMTP

    from qtsmtp.config.policyload import PolicySource
    from qtsmtp.config.settings import load_settings
    from qtsmtp.jobs.joblog import JobLog
    from qtsmtp.queue.writer import QueueWriter
    from qtsmtp.server.anvil import ClientTable
    from qtsmtp.server.committer import CommitProcess, _Answers
    from qtsmtp.server.worker import ServerJob

    ROOT, MESSAGES, PER_SESSION, KIND = (Path(sys.argv[2]), int(sys.argv[3]),
                                         int(sys.argv[4]), sys.argv[5])
    PARALLEL = 10
    BODY = (b"From: <bench@client.test>\r\nTo: <postmaster@bench.test>\r\nSubject: test\r\n"
            b"\r\n" + (b"x" * 70 + b"\r\n") * 13)

    class Committed(CommitProcess):
        """The commit process's side left out: a message is durable when sent."""

        async def start(self) -> None:
            self._answers, self._frames = _Answers(), object()

        async def _running(self):
            return self._answers

        def _send(self, queue_id, op, *parts) -> None:
            if op in (b"M", b"C"):
                self._answers.waiting.pop(queue_id).set_result(None)

        async def _drain(self) -> None:
            pass

    class Transport:
        def __init__(self, protocol, port: int):
            self.protocol, self.port = protocol, port
            self.closing, self.replies, self.arrived = False, [], asyncio.Event()

        def get_extra_info(self, name, default=None):
            return ("127.0.0.1", self.port) if name == "peername" else default

        def write(self, data) -> None:
            self.replies.append(bytes(data))
            self.arrived.set()

        def is_closing(self) -> bool:
            return self.closing

        def close(self) -> None:
            if not self.closing:
                self.closing = True
                asyncio.get_running_loop().call_soon(self.protocol.connection_lost, None)
                self.arrived.set()

        abort = close

        def get_write_buffer_size(self) -> int:
            return 0

        def pause_reading(self) -> None:
            pass

        def resume_reading(self) -> None:
            pass

    class Discard:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    async def reply(transport: Transport, code: bytes) -> None:
        while not transport.replies:
            transport.arrived.clear()
            if transport.closing:
                raise RuntimeError("closed before the reply")
            await transport.arrived.wait()
        line = transport.replies.pop(0)
        if not line.startswith(code):
            raise RuntimeError(f"{line!r}, not {code!r}")

    async def session(make, messages: int, port: int) -> None:
        protocol = make()
        transport = Transport(protocol, port)
        protocol.connection_made(transport)
        await reply(transport, b"220")
        for line, code in [(b"HELO client.test\r\n", b"250")] + [
                (b"MAIL FROM:<bench@client.test>\r\n", b"250"),
                (b"RCPT TO:<postmaster@bench.test>\r\n", b"250"),
                (b"DATA\r\n", b"354"), (BODY + b".\r\n", b"250")] * messages + [
                (b"QUIT\r\n", b"221")]:
            protocol.data_received(line)
            await reply(transport, code)
        transport.close()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        if KIND == "aiosmtpd":
            def make():
                return SMTP(Discard(), hostname="bench.test", loop=loop)
        else:
            settings = load_settings(ROOT, 1)
            source = PolicySource(ROOT, settings.system_name, settings.local_addresses)
            log = JobLog(ROOT / f"bench-{os.getpid()}.log")
            job = ServerJob(settings, source, log, "999999",
                            Committed(QueueWriter(ROOT), log), None, ClientTable(1).job(0))
            await job.queue.start()
            log.buffer_in(loop)
            make = job._session_factory
        slots = asyncio.Semaphore(PARALLEL)

        async def one(number: int) -> None:
            async with slots:
                await session(make, PER_SESSION, 20000 + number % 40000)

        sessions = MESSAGES // PER_SESSION
        await asyncio.gather(*(one(n) for n in range(min(sessions, 100))))    # warm
        start = time.process_time()
        await asyncio.gather(*(one(n) for n in range(sessions)))
        print(f"{(time.process_time() - start) / (sessions * PER_SESSION) * 1e6:.1f}")

    uvloop.run(main())
    sys.exit(0)

import argparse  # noqa: E402  (the worker above runs without the bench's set-up)
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

from _common import THIS, Version, new_root  # noqa: E402

SCENARIOS = (("new conn/msg", 1), ("many per conn", 100))


def run(version: Version, kind: str, root: Path, messages: int, per_session: int) -> float:
    done = subprocess.run([sys.executable, "-P", str(Path(__file__).resolve()), "--worker",
                           str(root), str(messages), str(per_session), kind],
                          env={**os.environ, "QTSMTP_ROOT": str(root), **version.env},
                          capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} worker failed: {done.stderr.strip()[-2000:]}")
    return float(done.stdout.split()[-1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline", type=Path, default=None,
                        help="a tree of another qtsmtp version (git archive of a commit)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qtsmtp-bench-") as tmp:
        top = Path(tmp)
        variants = [("qtsmtp", "qtsmtp", THIS, top / "qtsmtp")]
        if args.baseline is not None:
            base = Version(args.baseline, top / "baseline-code")
            variants.append(("qtsmtp-base", "qtsmtp", base, top / "baseline"))
        variants.append(("aiosmtpd-uv", "aiosmtpd", THIS, top / "qtsmtp"))
        for name, kind, version, root in variants:
            if kind == "qtsmtp":
                new_root(root, "SYSNAME('bench.test')", version=version)
        print(f"server-side CPU per message, us (smallest / median of {args.rounds} runs of "
              f"{args.messages} messages); load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        results: dict = {}
        for round_number in range(args.rounds):
            for label, per_session in SCENARIOS:
                turn = round_number % len(variants)
                for name, kind, version, root in variants[turn:] + variants[:turn]:
                    results.setdefault((label, name), []).append(
                        run(version, kind, root, args.messages, per_session))
        names = [name for name, *_ in variants]
        print(f"{'':<16}" + "".join(f"{name:>18}" for name in names)
              + "".join(f"{'CPU qt/' + name:>18}" for name in names[1:]))
        for label, _ in SCENARIOS:
            cells = {name: results[label, name] for name in names}
            print(f"{label:<16}" + "".join(
                f"{min(v):>9.0f} /{statistics.median(v):>6.0f}" for v in cells.values())
                + "".join(f"{min(cells['qtsmtp']) / min(cells[name]):>18.2f}"
                          for name in names[1:]))
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
