"""Throughput: Postfix's smtp-source against qtsmtp, a bare aiosmtpd and a real Postfix, in one run;
then STARTTLS on every connection, qtsmtp against Postfix.

    python bench/bench_throughput.py [--messages 2000] [--rounds 3] [--baseline TREE]
                                     [--only plain|starttls]

The client is smtp-source (Debian package postfix): 1 KB messages, one recipient, 10 and
50 parallel sessions, a new connection per message and, with -d, many messages per
connection. Every server listens on 127.0.0.1 and keeps its files on the same file
system (the system's temporary directory; its type is printed, since tmpfs would make
every fsync free), each in a directory of its own that ext4 places in a block group of
its own (_common.spread_subdirectories): on ext4 without a journal, as here, a file's
create skips every inode its group freed in the last minutes, so a server sharing a
group with the discarding Postfix, or with the last test run, pays hundreds of
microseconds a message for them (measured: 250-500 us a create in /tmp against 23 us).
Each cell is the median of --rounds runs; the servers take turns within a round so that
they share the machine's moods alike.

The servers, and what each has made durable before it says 250 after DATA:

- qtsmtp, started by STRTCPSVR on a temporary root as an operator would (relay gating
  with the full decision path: the recipient is local to SYSNAME bench.test; Received:
  line; job log lines per decision and per message): the queue file is written in
  queue/tmp, fsynced, renamed into queue/incoming, and incoming/ itself is fsynced
  (qtsmtp-queue(5)). fsync of file and directory is what POSIX asks for a rename to be
  durable. The bench holds the queue's delivery lock (as a queue runner would), so the
  client job delivers nothing while it runs: the number is the receive path alone, and
  incoming/ keeps every message until the end.
- postfix: Postfix 3.x, a private instance (its own config_directory, queue_directory
  and data_directory in a temporary directory, started with ``postfix -c DIR start``;
  no system file is read or changed): smtpd -> cleanup -> queue file in incoming/, then
  qmgr hands it to the discard transport, which drops it, and the file is removed.
  Before 250, cleanup does fflush + fchmod(0700) + fsync() of the queue file
  (global/mail_stream.c, mail_stream_finish_file); it does NOT fsync the directory. The
  file was created and renamed inside incoming/ before that fsync: on ext4 with a
  journal the fsync commits the transaction that holds those directory changes, and on
  ext4 without one the kernel also writes the parent directory of a newly created file
  (ext4_sync_parent); a file system with neither behaviour could lose a message Postfix
  acknowledged. So Postfix gives at most qtsmtp's durability, never more. Its run also
  pays for delivering (discarding) and removing each message, in other processes on the
  same CPUs: work qtsmtp's queue does not do yet.
- postfix-hold: a second private instance, configured as the first, whose smtpd puts
  every message on hold (check_client_access static:HOLD): the same receive path and
  fsync, then the file stays in hold/ and nothing else runs. Postfix's receive path
  alone, as measured for qtsmtp. An instance of its own, so that the first one's
  removed files never slow its creates.
- aiosmtpd 1.4 bare: one process, a handler that answers 250 and keeps nothing. No
  policy, no disk: the ceiling of the SMTP state machine qtsmtp is built on. It runs on
  asyncio's own event loop (pure-Python selector loop and transports), as aiosmtpd does
  by default; qtsmtp's server jobs run the same state machine on uvloop. With
  --aiosmtpd-uvloop, the same bare server on uvloop runs too (aiosmtpd-uv): the ceiling
  on the loop qtsmtp uses.

What each side runs (the CPUs are shared by all of it, smtp-source included): qtsmtp has
one server job per CPU (SVRJOBS(*CPU): 2 here), each with its commit process (the
fsyncs), sharing the port with SO_REUSEPORT, plus its supervisor and its client job
(idle: delivery is held). The bare aiosmtpd is one process on one CPU. Postfix runs
master, up to 100 smtpd, cleanup, qmgr, trivial-rewrite and, for postfix, discard.
Printed under the table: the CPU time per message of smtp-source itself (it shares the
CPUs: a busier machine costs it more per message too), and of each server's processes
(Postfix's daemons come and go: not shown); then qtsmtp's
split into its server jobs (the SMTP sessions) and their commit processes (the disk).

Postfix settings that differ from its defaults, and why: smtpd_peername_lookup = no
(qtsmtp does no reverse DNS either; on a loopback-only machine a lookup could only time
out), maillog_file in the temporary directory (no syslog here; qtsmtp writes its job logs
too), chroot off (the private instance has no chroot tree).

STARTTLS (the second table; smtp-source has no STARTTLS): bench/tls_source.py, a small
asyncio client in a process of its own, run the same way against both servers: 10 and 50
sessions, a new connection per message, and on every connection EHLO, STARTTLS, a full
TLS handshake (no resumption), EHLO, MAIL, RCPT, DATA, QUIT. Both servers use one
self-signed RSA 2048 certificate (openssl req, as the tests make theirs):

- qtsmtp-tls: a second qtsmtp, as the first, with TLSCERT and TLSKEY set (so STARTTLS is
  offered); the same durable receive path.
- postfix-tls: a second smtpd of postfix-hold's instance, with smtpd_tls_security_level=may
  and the certificate, and postfix-hold's hold restriction: Postfix's receive path and
  fsync with STARTTLS, nothing delivered (so the same work as qtsmtp-tls; tlsmgr runs,
  as Postfix's TLS wants). Postfix's TLS defaults otherwise (TLS 1.3 here, as Python's).

The client's own CPU time per message is printed beside: it shares the CPUs too.

Printed: messages per second of each, and the ratios qtsmtp/postfix (the target: >= 1.2),
qtsmtp/postfix-hold and qtsmtp/aiosmtpd. With --baseline TREE (another qtsmtp, e.g. a
``git archive`` of the last commit), that version runs as one more server in the same
rounds: a before/after that shares the machine's load, which a second run would not.
With --filters-journal, one more qtsmtp runs in the same rounds with 20 filter entries
(five of each *FTRxxx list, none matching), FTRACN(*KEEP) and JOURNAL(*YES): ftr/qt is
its rate over plain qtsmtp's (issue 12's goal: at least 0.85). --no-peers leaves out
aiosmtpd and Postfix. The recipient is postmaster@bench.test: local, and a user every
system has (an unknown local user is refused at RCPT).
The machine's load average is printed before and after: the runs share the CPUs with
whatever else runs. Every run is bounded in messages and in time; every server started
here is stopped in a ``finally``, Postfix by ``postfix stop`` and then by PID. Postfix
needs root (its daemons run as user postfix); without root it is reported as not run.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

from _common import (CHECKOUT, THIS, PrivatePostfix, Version, children, free_port, jobs,
                     new_root, own_block_group, server_running, spread_subdirectories,
                     wait_for_greeting, where_files_are)

RUN_TIMEOUT_SECONDS = 300          # one smtp-source run; 2,000 messages take seconds
TLS_SOURCE = Path(__file__).resolve().parent / "tls_source.py"
WARM_UP_MESSAGES = 100             # per server before timing: processes forked, caches warm
SCENARIOS = ((10, False), (10, True), (50, False), (50, True))
TLS_SCENARIOS = ((10, False), (50, False))     # tls_source: STARTTLS on every connection
TLS_QTSMTP, TLS_POSTFIX = "qtsmtp-tls", "postfix-tls"
BASELINE = "qtsmtp-base"           # the --baseline tree's qtsmtp
UVLOOP_PEER = "aiosmtpd-uv"        # --aiosmtpd-uvloop: the bare aiosmtpd on uvloop
FILTERED = "qtsmtp-ftr"            # --filters-journal: 20 filter entries and JOURNAL(*YES)
# Five entries of each filter list, none matching smtp-source's messages (so every
# message is scanned against all of them and still queued), FTRACN(*KEEP) and the
# SMTP journal on: the cost of issue 12's filters and journal on the receive path.
FILTER_ENTRIES = {
    "*FTRSUBJECT": ["*lottery*", "ILOVEYOU", "*viagra*", "*invoice overdue*", "Re: Re: Re: *"],
    "*FTRORIGIN": ["*@spam.test", "*@phish.test", "bad.test", "*@malware.test", "x@y.test"],
    "*FTRFILNAME": ["*.exe", "*.scr", "*.vbs", "*.pif", "*.js"],
    "*FTRTYPE": ["application/x-msdownload", "application/x-ms*", "image/x-icon",
                 "application/hta", "text/vbscript"],
}

BARE_AIOSMTPD = textwrap.dedent("""
    import asyncio, sys
    if sys.argv[2:] == ["uvloop"]:
        import uvloop
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    from aiosmtpd.smtp import SMTP
    class Discard:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"
    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(Discard(), hostname="bench.test"), "127.0.0.1", int(sys.argv[1]),
            backlog=1024)
        print("ready", flush=True)
        await server.serve_forever()
    asyncio.run(main())
""")


def smtp_source(port: int, sessions: int, messages: int, keep_open: bool) -> float:
    """Messages per second for one smtp-source run (1 KB messages); its CPU time per
    message goes to CLIENT_CPU."""
    args = ["smtp-source", "-s", str(sessions), "-m", str(messages), "-l", "1024",
            "-f", "bench@client.test", "-t", "postmaster@bench.test", "-M", "client.test"]
    if keep_open:
        args.append("-d")
    before = children_cpu_seconds()
    start = time.perf_counter()
    subprocess.run(args + [f"127.0.0.1:{port}"], check=True, timeout=RUN_TIMEOUT_SECONDS,
                   stdout=subprocess.DEVNULL)
    rate = messages / (time.perf_counter() - start)
    CLIENT_CPU.append((children_cpu_seconds() - before) / messages)
    return rate


CLIENT_CPU: list[float] = []        # seconds of smtp-source's CPU per message, last run last


def children_cpu_seconds() -> float:
    """User and system CPU time of this process's waited-for children (smtp-source)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


_TICKS = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of ``pid`` and of every process under it, living or ended and waited for
    (/proc: utime, stime, cutime, cstime); 0 for a process that is gone."""
    return sum(tree_cpu_by_name(pid).values())


def tree_cpu_by_name(pid: int, totals: dict | None = None) -> dict[str, float]:
    """tree_cpu_seconds by process name (QTSMTPSRVP, QTSMTPQCOMMIT...): an ended child's
    time counts for the process that waited for it."""
    totals = {} if totals is None else totals
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        name, fields = stat[stat.index("(") + 1:stat.rindex(")")], stat.rsplit(")", 1)[1].split()
    except (OSError, ValueError, IndexError):
        return totals
    totals[name] = totals.get(name, 0.0) + sum(int(value) for value in fields[11:15]) / _TICKS
    for child in children(pid):
        tree_cpu_by_name(child, totals)
    return totals


def tls_source(port: int, sessions: int, messages: int, keep_open: bool) -> float:
    """Messages per second for one tls_source.py run (STARTTLS on every connection); the
    client's CPU time per message goes to TLS_CLIENT_CPU."""
    args = [sys.executable, str(TLS_SOURCE), "-s", str(sessions), "-m", str(messages),
            "--timeout", str(RUN_TIMEOUT_SECONDS)]
    if keep_open:
        args.append("-d")
    done = subprocess.run(args + [f"127.0.0.1:{port}"], capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_SECONDS + 30, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"tls_source against port {port}: {done.stderr.strip()}")
    rate, _, rest = done.stdout.partition(" msg/s, client CPU ")
    TLS_CLIENT_CPU.append(float(rest.split()[0]))
    return float(rate)


TLS_CLIENT_CPU: list[float] = []


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """One self-signed RSA 2048 certificate for both TLS servers (Postfix reads the key
    as root before it drops its privileges; qtsmtp wants it 0600)."""
    directory.mkdir(mode=0o755)
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=bench.test", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    key.chmod(0o600)
    return cert, key


def file_system_type(path: Path) -> str:
    """The type of the file system the queues are on; an ext4 without a journal says so:
    there every file created skips the inodes freed in the last seconds (minutes, while
    their inode table block is not written back), so what a message's file costs depends
    on what else deleted files nearby. qtsmtp and Postfix create one file a message."""
    out = subprocess.run(["df", "--output=fstype,source", str(path)], capture_output=True,
                         text=True, check=False)
    if out.returncode != 0:
        return "unknown"
    fstype, source = out.stdout.split()[-2:]
    journals = Path("/proc/fs/jbd2")
    if fstype == "ext4" and journals.is_dir() and not any(
            journals.glob(f"{Path(source).name}-*")):
        return "ext4 (no journal)"
    return fstype


# --- qtsmtp -------------------------------------------------------------------------------

class Qtsmtp:
    """``version``: this checkout's installation, or another tree of qtsmtp (--baseline)."""

    def __init__(self, root: Path, name: str = "qtsmtp", version: Version = THIS,
                 attributes: str = "", entries: dict | None = None):
        self.name = name
        self.attributes = attributes
        self.entries = entries or {}
        self.root = root
        self.port = 0
        self.version = version
        self.incoming = root / "queue" / "incoming"

    @contextmanager
    def running(self):
        # bench.test is this system: the recipient is local, so every RCPT passes the full
        # decision path (canonicalise, reject list, local check) and every message is queued.
        env, self.port = new_root(self.root, f"SYSNAME('bench.test') {self.attributes}".rstrip(),
                                  version=self.version)
        for list_type, values in self.entries.items():
            for value in values:
                subprocess.run([*self.version.command("addsmtple"), list_type,
                                f"FTRDATA('{value}')"], env=env, check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.root)
        # Delivery is held off, as while a queue runner has the queue: the client job
        # waits for the queue's delivery lock, which this process holds until the end.
        # What is measured is the receive path, up to the durable queue file.
        with server_running(self.root, env, hold_delivery=True, version=self.version):
            wait_for_greeting(self.port, "qtsmtp")
            yield self

    def settle(self) -> None:
        pass

    def kept(self) -> int:
        """Messages in incoming/ (nothing takes them away during the bench)."""
        return sum(1 for _ in self.incoming.iterdir())

    def cpu_seconds(self) -> float:
        """CPU time of the server so far: the supervisor, its jobs and commit processes."""
        return sum(self.cpu_by_name().values())

    def cpu_by_name(self) -> dict[str, float]:
        """cpu_seconds by process: server jobs (QTSMTPSRVP), their commit processes
        (QTSMTPQCOMMIT), the supervisor and the client job."""
        totals: dict[str, float] = {}
        for job in jobs(self.root):
            if job.get("name") == "QTSMTPSRVD":
                tree_cpu_by_name(job["pid"], totals)
        return totals


# --- bare aiosmtpd ------------------------------------------------------------------------

class BareAiosmtpd:
    """``loop``: "asyncio" (aiosmtpd's default) or "uvloop" (as qtsmtp's jobs run)."""

    def __init__(self, loop: str = "asyncio"):
        self.name = "aiosmtpd" if loop == "asyncio" else "aiosmtpd-uv"
        self.loop = loop
        self.port = free_port()
        self.pid = 0

    @contextmanager
    def running(self):
        process = subprocess.Popen([sys.executable, "-c", BARE_AIOSMTPD, str(self.port),
                                    self.loop], stdout=subprocess.PIPE, text=True)
        self.pid = process.pid
        try:
            process.stdout.readline()
            wait_for_greeting(self.port, "aiosmtpd")
            yield self
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)

    def settle(self) -> None:
        pass

    def kept(self) -> int | None:
        return None

    def cpu_seconds(self) -> float:
        return tree_cpu_seconds(self.pid)


# --- the private Postfix instance (_common.PrivatePostfix) -----------------------------

# Nothing is local and nothing leaves: every recipient goes to the discard transport
# after cleanup queued it (the normal receive path, fsync included).
POSTFIX_MAIN_CF = """\
default_transport = discard:
relay_transport = discard:
local_transport = discard:
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
"""
# postfix-hold's instance: every message goes to the hold queue.
POSTFIX_HOLD_MAIN_CF = POSTFIX_MAIN_CF + """\
smtpd_recipient_restrictions = check_client_access, static:HOLD, permit_mynetworks, reject
"""
# Its second smtpd (postfix-tls): STARTTLS offered; and tlsmgr, which Postfix's TLS uses
# for its session cache and random numbers.
POSTFIX_TLS_SMTPD = """\
127.0.0.1:{port} inet n - n - - smtpd
  -o smtpd_tls_security_level=may
  -o smtpd_tls_cert_file={cert}
  -o smtpd_tls_key_file={key}
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
"""


class Postfix(PrivatePostfix):
    """postfix: a private instance that discards every message it queued."""

    def __init__(self, top: Path):
        super().__init__(top, POSTFIX_MAIN_CF)

    def settle(self) -> None:
        # qmgr and discard work through the queue after the 250s: let them finish, so
        # that no run shares the CPUs with the tail of Postfix's previous one.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.queued("incoming", "active", "deferred"):
            time.sleep(0.1)

    def kept(self) -> int | None:
        return None          # discarded: counted once, at the end (sent())


class PostfixHold(PrivatePostfix):
    """postfix-hold: a second private instance, whose smtpd puts every message on hold;
    with a certificate, a second smtpd of it offers STARTTLS (postfix-tls). An instance
    of its own, in a block group of its own: the discarding instance removes a file for
    every message, and in a shared queue those removals would make every hold file's
    create slower (spread_subdirectories)."""

    name = "postfix-hold"

    def __init__(self, top: Path, certificate: tuple[Path, Path] | None = None):
        self.tls = PostfixTls(self) if certificate else None
        services = "" if certificate is None else POSTFIX_TLS_SMTPD.format(
            port=self.tls.port, cert=certificate[0], key=certificate[1])
        super().__init__(top, POSTFIX_HOLD_MAIN_CF, services)

    @contextmanager
    def running(self):
        with super().running():
            if self.tls is not None:
                wait_for_greeting(self.tls.port, "postfix (STARTTLS)")
            yield self

    def settle(self) -> None:
        pass

    def kept(self) -> int:
        return self.queued("hold")


class PostfixTls:
    """postfix-tls: the hold instance's second smtpd, with STARTTLS."""

    name = TLS_POSTFIX

    def __init__(self, instance: PostfixHold):
        self.instance = instance
        self.port = free_port()

    @contextmanager
    def running(self):
        yield self                  # started and stopped with its instance

    def settle(self) -> None:
        pass

    def kept(self) -> int:
        return self.instance.kept()


# --- the run ------------------------------------------------------------------------------

def measure(servers: list, messages: int, rounds: int, scenarios, client=smtp_source) -> dict:
    """{(sessions, keep_open): {server name: [msg/s, one per round]}}, with ``client``
    (smtp_source or tls_source). Every run of a server that counts what it kept is
    checked: exactly ``messages`` more."""
    results: dict = {s: {server.name: [] for server in servers} for s in scenarios}
    for round_number in range(rounds):
        for sessions, keep_open in scenarios:
            # Take turns: a different server goes first in each round.
            turn = round_number % len(servers)
            for server in servers[turn:] + servers[:turn]:
                for each in servers:         # settle every server, not only this one
                    each.settle()
                os.sync()                    # no run pays for the previous one's writes
                before = server.kept()
                cpu = getattr(server, "cpu_seconds", None)
                cpu_before = cpu() if cpu else 0.0
                by_name = getattr(server, "cpu_by_name", None)
                parts_before = by_name() if by_name else {}
                rate = client(server.port, sessions, messages, keep_open)
                results[sessions, keep_open][server.name].append(rate)
                if client is smtp_source:
                    used = (cpu() - cpu_before) / messages if cpu else None
                    CPU_PER_MESSAGE.setdefault((sessions, keep_open, server.name), []).append(
                        (CLIENT_CPU[-1], used))
                    if by_name:
                        parts = by_name()
                        CPU_PARTS.setdefault((sessions, keep_open, server.name), []).append(
                            {name: (parts[name] - parts_before.get(name, 0.0)) / messages
                             for name in parts})
                after = server.kept()
                if before is not None and after - before != messages:
                    raise RuntimeError(f"{server.name} kept {after - before} of {messages} "
                                       f"messages it accepted")
    return results


# (sessions, keep_open, server name) -> [(smtp-source's, the server's CPU seconds per
# message, None where not measured), one per round]
CPU_PER_MESSAGE: dict = {}
# (sessions, keep_open, qtsmtp's name) -> [{process name: CPU seconds per message}, ...]
CPU_PARTS: dict = {}
QTSMTP_PARTS = (("server jobs", "QTSMTPSRVP"), ("commit", "QTSMTPQCOMMIT"))


def print_cpu_table(names: list[str], scenarios) -> None:
    """Median CPU time per message, in microseconds: smtp-source's in each server's runs,
    and the server's own processes'."""
    print(f"{'CPU us/msg (client/server)':<28}" + "".join(f"{name:>16}" for name in names))
    for sessions, keep_open in scenarios:
        label = f"-s {sessions}" + (" -d" if keep_open else " (new conn/msg)")
        cells = []
        for name in names:
            runs = CPU_PER_MESSAGE.get((sessions, keep_open, name), [])
            client = statistics.median(c for c, _ in runs) * 1e6 if runs else None
            own = [s for _, s in runs if s is not None]
            server = f"{statistics.median(own) * 1e6:.0f}" if own else "-"
            cells.append(f"{client:.0f}/{server}" if client is not None else "-")
        print(f"{label:<28}" + "".join(f"{cell:>16}" for cell in cells))
    split = [name for name in names if any(key[2] == name for key in CPU_PARTS)]
    if not split:
        return
    print(f"{'of which, us/msg':<28}" + "".join(
        f"{name + ' ' + part:>26}" for name in split for part, _ in QTSMTP_PARTS))
    for sessions, keep_open in scenarios:
        label = f"-s {sessions}" + (" -d" if keep_open else " (new conn/msg)")
        cells = []
        for name in split:
            runs = CPU_PARTS.get((sessions, keep_open, name), [])
            for _, process in QTSMTP_PARTS:
                values = [run.get(process, 0.0) for run in runs]
                cells.append(f"{statistics.median(values) * 1e6:.0f}" if values else "-")
        print(f"{label:<28}" + "".join(f"{cell:>26}" for cell in cells))


def check_postfix_discarded(postfix: Postfix, expected: int) -> int:
    """Messages the discard agent disposed of (each one was queued first); counted once
    the log shows them, which may lag the 250 a little."""
    deadline = time.monotonic() + 60
    while (seen := postfix.sent()) < expected and time.monotonic() < deadline:
        time.sleep(0.5)
    return seen


def checkout_version() -> str:
    """The commit of the checkout the console scripts run, and whether it has changes."""
    try:
        head = subprocess.run(["git", "-C", str(CHECKOUT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(CHECKOUT), "status", "--porcelain",
                                "--untracked-files=no", "--", "qtsmtp"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}{' + changes' if dirty else ''}" if head else "not a git checkout"


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def print_table(results: dict, names: list[str], scenarios) -> None:
    def rate(row, name) -> float | None:
        values = row.get(name)
        return statistics.median(values) if values else None

    def ratio(a, b) -> str:
        return f"{a / b:.2f}" if a and b else "-"

    columns = ["qtsmtp", "aiosmtpd", "postfix", "postfix-hold"]
    ratios = [("qt/postfix", "postfix"), ("qt/pf-hold", "postfix-hold"), ("qt/aiosmtpd", "aiosmtpd")]
    if UVLOOP_PEER in names:
        columns.insert(2, UVLOOP_PEER)
        ratios.append(("qt/aio-uv", UVLOOP_PEER))
    if BASELINE in names:
        columns.insert(1, BASELINE)
        ratios.append(("qt/baseline", BASELINE))
    if FILTERED in names:
        columns.insert(1, FILTERED)
        ratios.append(("ftr/qt", FILTERED))
    print(f"{'run':<22}" + "".join(f"{c:>13}" for c in columns)
          + "".join(f"{title:>13}" for title, _ in ratios))
    for sessions, keep_open in scenarios:
        row = results[sessions, keep_open]
        rates = {c: rate(row, c) for c in columns}
        label = f"-s {sessions}" + (" -d" if keep_open else " (new conn/msg)")
        cells = "".join(f"{rates[c]:>13.0f}" if rates[c] else f"{'not run':>13}" for c in columns)
        qt = rates["qtsmtp"]
        print(f"{label:<22}{cells}" + "".join(
            f"{ratio(rates[c], qt) if c == FILTERED else ratio(qt, rates[c]):>13}"
            for _, c in ratios))


def print_tls_table(results: dict, scenarios) -> None:
    print(f"{'run (STARTTLS)':<22}{TLS_QTSMTP:>13}{TLS_POSTFIX:>13}{'qt/pf-tls':>13}")
    for sessions, keep_open in scenarios:
        row = results[sessions, keep_open]
        qt, pf = (statistics.median(row[name]) if row.get(name) else None
                  for name in (TLS_QTSMTP, TLS_POSTFIX))
        label = f"-s {sessions}" + (" -d" if keep_open else " (new conn/msg)")
        cells = "".join(f"{v:>13.0f}" if v else f"{'not run':>13}" for v in (qt, pf))
        print(f"{label:<22}{cells}{(f'{qt / pf:.2f}' if qt and pf else '-'):>13}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", type=Path, default=None,
                        help="a tree of another qtsmtp version (git archive of a commit) to "
                             "run too, in the same rounds: before/after on the same machine load")
    parser.add_argument("--filters-journal", action="store_true",
                        help="also run a qtsmtp with 20 filter entries, FTRACN(*KEEP) and "
                             "JOURNAL(*YES), in the same rounds (ftr/qt: its rate over qtsmtp's)")
    parser.add_argument("--aiosmtpd-uvloop", action="store_true",
                        help="also run the bare aiosmtpd on uvloop, the loop qtsmtp's jobs "
                             "run (aiosmtpd-uv; qt/aio-uv)")
    parser.add_argument("--no-peers", action="store_true",
                        help="run qtsmtp (and --baseline / --filters-journal) only")
    parser.add_argument("--sessions", type=int, choices=sorted({s for s, _ in SCENARIOS}),
                        help="only the scenarios with this many parallel sessions")
    parser.add_argument("--only", choices=("plain", "starttls"),
                        help="only the smtp-source table, or only the STARTTLS one")
    args = parser.parse_args()
    scenarios = [s for s in SCENARIOS if args.sessions in (None, s[0])
                 and args.only != "starttls"]
    tls_scenarios = [s for s in TLS_SCENARIOS if args.sessions in (None, s[0])
                     and args.only != "plain" and not args.no_peers]
    if shutil.which("smtp-source") is None:
        print("smtp-source not found (Debian package postfix)")
        return 1
    why_not = Postfix.available()
    import aiosmtpd
    with tempfile.TemporaryDirectory(prefix="qtsmtp-bench-") as tmp, ExitStack() as stack:
        top = Path(tmp)
        not_spread = spread_subdirectories(top)
        servers, tls_servers = [], []         # measured with smtp-source / tls_source
        if scenarios:
            servers = [Qtsmtp(own_block_group(top, "qtsmtp"))] + (
                [] if args.no_peers else [BareAiosmtpd()])
            if args.aiosmtpd_uvloop and not args.no_peers:
                servers.append(BareAiosmtpd("uvloop"))
            if args.filters_journal:
                servers.append(Qtsmtp(own_block_group(top, "filtered"), FILTERED,
                                      attributes="FTRACN(*KEEP) JOURNAL(*YES)",
                                      entries=FILTER_ENTRIES))
            if args.baseline is not None:
                servers.append(Qtsmtp(own_block_group(top, "baseline"), BASELINE,
                                      Version(args.baseline, top / "baseline-code")))
        certificate = None
        if tls_scenarios:
            certificate = make_certificate(top / "tls")
            tls_servers.append(Qtsmtp(own_block_group(top, "qtsmtp-tls"), TLS_QTSMTP, attributes=(
                f"TLSCERT('{certificate[0]}') TLSKEY('{certificate[1]}')")))
        postfix = hold = None
        if why_not is None and not args.no_peers:
            top.chmod(0o755)           # Postfix's daemons (user postfix) pass through it
            if scenarios:
                postfix = Postfix(own_block_group(top, "postfix"))
                stack.enter_context(postfix.running())
            hold = PostfixHold(own_block_group(top, "postfix-hold"), certificate)
            stack.enter_context(hold.running())
            if scenarios:
                servers += [postfix, hold]
            if hold.tls is not None and tls_scenarios:
                tls_servers.append(hold.tls)
        for server in servers + tls_servers:
            if server not in (postfix, hold):
                stack.enter_context(server.running())
        for server in servers:
            server.settle()
            smtp_source(server.port, 10, WARM_UP_MESSAGES, True)
        for server in tls_servers:
            tls_source(server.port, 10, WARM_UP_MESSAGES, False)
        version = ""
        if hold is not None:
            version = subprocess.run(["postconf", "-c", str(hold.config), "-h", "mail_version"],
                                     capture_output=True, text=True).stdout.strip()
        print(f"1 KB messages, {args.messages} messages per run, median of "
              f"{args.rounds} rounds; {os.cpu_count()} CPUs; queues on {file_system_type(top)}, "
              f"{where_files_are(not_spread)}; "
              f"Python {sys.version.split()[0]}, aiosmtpd {aiosmtpd.__version__}, "
              f"Postfix {version or 'not run: ' + str(why_not or '--no-peers')}; "
              f"qtsmtp {checkout_version()}; "
              f"load average {load_average()}")
        if scenarios:
            results = measure(servers, args.messages, args.rounds, scenarios)
            print_table(results, [s.name for s in servers], scenarios)
            print_cpu_table([s.name for s in servers], scenarios)
            print(f"smtp-source, msg/s. Before each 250: qtsmtp fsyncs the file and incoming/; "
                  f"Postfix fsyncs the file (not the directory); aiosmtpd keeps nothing. "
                  f"Load average after: {load_average()}")
        if tls_scenarios:
            TLS_CLIENT_CPU.clear()
            results = measure(tls_servers, args.messages, args.rounds, tls_scenarios, tls_source)
            print_tls_table(results, tls_scenarios)
            client_cpu = statistics.median(TLS_CLIENT_CPU) if TLS_CLIENT_CPU else 0
            print(f"tls_source (STARTTLS, full handshake, RSA 2048), msg/s; the client's CPU "
                  f"{client_cpu:.0f} us/msg (median). Load average after: {load_average()}")
        # Those that keep what they acknowledge, and ran: measure() checked each run.
        keepers = ", ".join(s.name for s in servers + tls_servers if s.kept() is not None)
        kept = f"{keepers} kept every message they acknowledged (checked after each run)"
        if postfix is not None and scenarios:
            expected = len(scenarios) * args.rounds * args.messages + WARM_UP_MESSAGES
            seen = check_postfix_discarded(postfix, expected)
            print(f"postfix queued and discarded {seen} of {expected} messages; {kept}")
        else:
            print(kept)
    return 0


if __name__ == "__main__":
    sys.exit(main())
