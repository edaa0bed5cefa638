"""What the benchmarks share: the checkout and its console scripts, free loopback ports, a
temporary root holding a copy of the embedded default library, a server started and
always ended, the job table, and a private Postfix instance (the peer of the delivery
and throughput benchmarks).

A benchmark runs as ``python3 bench/NAME.py`` from the checkout, with no venv active:
importing this module finds qtsmtp's console scripts next to the interpreter (a venv's
bin/), and when they are not there (a system python3) it runs the benchmark again under
the checkout's .venv/bin/python, the venv README.md's set-up makes.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from contextlib import contextmanager
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
EMBEDDED_LIBRARY = CHECKOUT / "data" / "QUSRSYS"
VENV_PYTHON = CHECKOUT / ".venv" / "bin" / "python"
DELIVERY_LOCK = ".delivery.lock"       # qtsmtp-queue(5): one deliverer at a time
START_TIMEOUT_SECONDS = 60
END_TIMEOUT_SECONDS = 120


def _run_under_the_checkout_venv() -> None:
    """No qtsmtp console scripts next to this interpreter: run again under the checkout's
    venv, if it has one (else script() says what to install)."""
    if ((Path(sys.executable).parent / "strtcpsvr").exists() or not VENV_PYTHON.exists()
            or Path(sys.prefix) == VENV_PYTHON.parents[1]):
        return
    print(f"(running under {VENV_PYTHON.relative_to(CHECKOUT)}: this python3 has no qtsmtp)",
          file=sys.stderr, flush=True)
    os.execv(VENV_PYTHON, [str(VENV_PYTHON), *sys.argv])


_run_under_the_checkout_venv()
if str(CHECKOUT) not in sys.path:
    sys.path.insert(1, str(CHECKOUT))    # after bench/ itself: qtsmtp of this checkout


def script(name: str) -> str:
    """A console script of this installation: next to the interpreter (a venv's bin/,
    which need not be on PATH), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if not found:
        raise SystemExit(f"console script {name} not found: python3 -m venv .venv && "
                         f".venv/bin/pip install -e . (README.md), then python3 {sys.argv[0]}")
    return found


class Version:
    """A qtsmtp to run: this checkout's installation (``Version()``), or another tree of
    qtsmtp (``--baseline TREE``, e.g. a git worktree of an older commit) for a before/after
    comparison in the same run.

    Another tree runs from a private copy laid out as an installation is, its own
    commands/ as qtsmtp.commands (else the installed package's finder would hand it this
    checkout's definitions), with its console scripts' entry points as its pyproject.toml
    names them (modules move between versions)."""

    def __init__(self, tree: Path | None = None, scratch: Path | None = None, name: str = "qtsmtp"):
        self.name = name
        self.tree = tree
        self.env: dict = {}
        self.library = EMBEDDED_LIBRARY
        self._entries: dict | None = None
        if tree is not None:
            tree = tree.resolve()
            code = Path(scratch) / "code"
            shutil.copytree(tree / "qtsmtp", code / "qtsmtp",
                            ignore=shutil.ignore_patterns("__pycache__"))
            if not (code / "qtsmtp" / "commands").exists():
                (code / "qtsmtp" / "commands").symlink_to(tree / "commands")
            # Byte-compiled now, as pip compiles an installation: with PYTHONDONTWRITEBYTECODE
            # set, every run would compile the sources again and the bigger tree would lose.
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(code)], check=True)
            self.env = {"PYTHONPATH": str(code)}
            self.library = tree / "data" / "QUSRSYS"     # as that version ships it
            # Since 3514f85 the console scripts are launchers in bin/ (no [project.scripts]),
            # each calling qtsmtp.console:<name>.
            self._entries = tomllib.loads((tree / "pyproject.toml").read_text())["project"].get(
                "scripts", {})

    def command(self, name: str) -> list[str]:
        """The argv that runs console script ``name`` of this version."""
        if self._entries is None:
            return [script(name)]
        module, _, function = self._entries.get(name, f"qtsmtp.console:{name}").partition(":")
        # -P: the current directory (a checkout, with its own qtsmtp/) must not come
        # before PYTHONPATH.
        return [sys.executable, "-P", "-c", f"import sys; sys.argv[0] = {name!r}; "
                f"from {module} import {function}; sys.exit({function}())"]


THIS = Version()


def free_port() -> int:
    """A port free on 127.0.0.1 and on ::1 (the embedded default library binds both)."""
    for _ in range(50):
        with socket.socket() as s4:
            s4.bind(("127.0.0.1", 0))
            port = s4.getsockname()[1]
            try:
                with socket.socket(socket.AF_INET6) as s6:
                    s6.bind(("::1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port on loopback")


# ext4's "top of directory hierarchy" attribute (chattr +T; FS_TOPDIR_FL in linux/fs.h).
_FS_IOC_GETFLAGS, _FS_IOC_SETFLAGS, _FS_TOPDIR_FL = 0x80086601, 0x40086602, 0x00020000


def spread_subdirectories(directory: Path) -> str | None:
    """Give every subdirectory made in ``directory`` a block group of its own; None, or
    why not (another file system, no permission).

    On ext4 without a journal, as here, creating a file skips, one by one, every inode
    of its block group freed in the last minute (five more while the inode table block
    is not written back), so a create costs what others deleted nearby: measured on this
    machine, 250-500 us of kernel CPU in /tmp, churned by every test run, against 23 us
    in a fresh group. A benchmark's server that creates a file per message (qtsmtp and
    Postfix) would pay for whatever ran before it. With the attribute set, ext4's Orlov
    allocator places each new subdirectory (and the files made in it) in a group chosen
    from a hash of its name, spread over the disk as for a directory of the root."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        flags = bytearray(8)             # the kernel reads and writes an int of it
        fcntl.ioctl(fd, _FS_IOC_GETFLAGS, flags)
        value = int.from_bytes(flags[:4], sys.byteorder) | _FS_TOPDIR_FL
        fcntl.ioctl(fd, _FS_IOC_SETFLAGS, value.to_bytes(4, sys.byteorder) + bytes(4))
    except OSError as failure:
        return failure.strerror or str(failure)
    finally:
        os.close(fd)
    return None


def where_files_are(not_spread: str | None) -> str:
    """For a bench's header: spread_subdirectories's outcome."""
    if not_spread is None:
        return "each server's in a block group of its own"
    return f"in one directory ({not_spread}: not spread over block groups)"


def own_block_group(top: Path, name: str) -> Path:
    """A new directory for one server's files in ``top`` (spread_subdirectories). Its
    name is new each time: the group comes from a hash of the name, and the same name
    would land where a run a minute ago deleted its files."""
    return Path(tempfile.mkdtemp(dir=top, prefix=f"{name}-"))


def wait_for_greeting(port: int, what: str = "the server",
                      limit: float = START_TIMEOUT_SECONDS) -> None:
    """Until something on 127.0.0.1:``port`` says 220 (bounded by ``limit`` seconds)."""
    deadline = time.monotonic() + limit
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                if s.recv(512).startswith(b"220"):
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} does not answer on 127.0.0.1:{port}")
        time.sleep(0.1)


# --- a qtsmtp root and its server -----------------------------------------------------------

def copy_library(root: Path, library: Path = EMBEDDED_LIBRARY) -> Path:
    """``root`` (made if need be) with a copy of ``library`` as its QUSRSYS."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(library, root / "QUSRSYS", ignore=shutil.ignore_patterns(".*"))
    return root


def new_root(root: Path, attributes: str = "", env: dict | None = None,
             library: Path | None = None, version: Version = THIS) -> tuple[dict, int]:
    """A copy of the embedded default library (or ``library``) in ``root``, the server's
    port set to a free one, and any other CHGSMTPA ``attributes``: the environment for
    commands on it (``env`` added), and the port. Commands run in ``root``, so that a
    qtsmtp in the current directory is never the one that runs."""
    copy_library(root, library or version.library)
    env = {**os.environ, "QTSMTP_ROOT": str(root), **version.env, **(env or {})}
    port = free_port()
    subprocess.run([*version.command("chgsmtpa"), f"PORT({port}) {attributes}".rstrip()], env=env,
                   check=True, stdout=subprocess.DEVNULL, cwd=root)
    return env, port


def jobs(root: Path) -> list[dict]:
    """The server's job table, as WRKACTJOB reads it."""
    directory = root / "QSYSWRK" / "jobs"
    out = []
    for path in sorted(directory.glob("[0-9]*")):
        try:
            out.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def children(parent: int, name: str | None = None) -> list[int]:
    """The child processes of ``parent`` (only those called ``name``, if given)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        comm, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat.rsplit(")", 1)[1].split()
        if int(rest[1]) == parent and name in (None, comm):
            found.append(int(entry))
    return found


def end_server(root: Path, env: dict, seen: set[int], limit: float = END_TIMEOUT_SECONDS,
               version: Version = THIS) -> None:
    """ENDTCPSVR; then every job seen (``seen``, and those still recorded) that is still
    alive after ``limit`` seconds is killed by its PID."""
    seen.update(job["pid"] for job in jobs(root))
    subprocess.run([*version.command("endtcpsvr"), "*SMTP"], env=env, stdout=subprocess.DEVNULL,
                   timeout=limit, cwd=root)
    deadline = time.monotonic() + limit
    while any(alive(pid) for pid in seen) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in seen:                        # ENDTCPSVR did not: by PID, one by one
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


@contextmanager
def server_running(root: Path, env: dict, hold_delivery: bool = False,
                   start_timeout: float = START_TIMEOUT_SECONDS, version: Version = THIS):
    """STRTCPSVR on ``root`` (it returns once every job is up); yields the set of the
    server's PIDs seen so far (add more to it), and at the end ENDTCPSVR, then by PID
    whatever of those is left (end_server).

    ``hold_delivery``: this process holds the queue's delivery lock from before the start
    until just before the end, as a queue runner would: the client job delivers nothing,
    and what a benchmark measures is the receive path up to the durable queue file."""
    lock = None
    if hold_delivery:
        queue = root / "queue"
        queue.mkdir(exist_ok=True)
        lock = os.open(queue / DELIVERY_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(lock, fcntl.LOCK_EX)
    seen: set[int] = set()
    try:
        subprocess.run([*version.command("strtcpsvr"), "*SMTP"], env=env, check=True, cwd=root,
                       stdout=subprocess.DEVNULL, timeout=start_timeout)
        seen.update(job["pid"] for job in jobs(root))
        yield seen
    finally:
        if lock is not None:
            os.close(lock)          # the client job must get it to see that it should end
        end_server(root, env, seen, version=version)


# --- a private Postfix instance ---------------------------------------------------------

POSTFIX_MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.bench.test
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
relay_domains =
local_recipient_maps =
alias_maps =
alias_database =
mynetworks = 127.0.0.0/8
smtpd_peername_lookup = no
biff = no
maillog_file = {log}
maillog_file_prefixes = {top}
"""

POSTFIX_MASTER_CF = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class PrivatePostfix:
    """A Postfix instance that lives in one temporary directory and nowhere else: its own
    config_directory, queue_directory and data_directory, started with ``postfix -c DIR
    start``; no system file is read or changed. One smtpd listens on 127.0.0.1:``port``.

    ``main_cf``: the benchmark's settings, after the shared ones (nothing local, no peer
    name look-up, the log in the temporary directory). ``master_cf``: services of its
    own (a second smtpd, the smtp client), added to the shared ones. Settings that
    differ from Postfix's defaults, and why: smtpd_peername_lookup = no (qtsmtp does no
    reverse DNS either; on a loopback-only machine a look-up could only time out),
    maillog_file in the temporary directory (no syslog here; qtsmtp writes its job logs
    too), chroot off (the private instance has no chroot tree). Needs root (its daemons
    run as user postfix): see available()."""

    name = "postfix"

    def __init__(self, top: Path, main_cf: str = "", master_cf: str = ""):
        self.top = top
        self.port = free_port()
        self.config = top / "conf"
        self.queue = top / "queue"
        self.data = top / "data"
        self.log = top / "maillog"
        self.main_cf, self.master_cf = main_cf, master_cf
        self.master_pid = 0

    @staticmethod
    def available() -> str | None:
        """None if a private Postfix can run here, else why not."""
        if shutil.which("postfix") is None:
            return "postfix not installed (Debian package postfix)"
        if os.geteuid() != 0:
            return "Postfix's daemons need root to start"
        return None

    def postfix(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["postfix", "-c", str(self.config), *args], check=check,
                              capture_output=True, text=True, timeout=120)

    @contextmanager
    def running(self):
        import pwd
        owner = pwd.getpwnam("postfix")
        self.top.chmod(0o755)            # the postfix user must reach its directories
        for directory in (self.config, self.queue, self.data):
            directory.mkdir()
        os.chown(self.data, owner.pw_uid, owner.pw_gid)
        (self.config / "main.cf").write_text(POSTFIX_MAIN_CF.format(
            queue=self.queue, data=self.data, log=self.log, top=self.top) + self.main_cf)
        (self.config / "master.cf").write_text(
            f"127.0.0.1:{self.port} inet n - n - - smtpd\n" + self.master_cf + POSTFIX_MASTER_CF)
        try:
            for command in ("check", "start"):
                done = self.postfix(command, check=False)
                if done.returncode != 0:
                    log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
                    raise RuntimeError(f"postfix {command} failed:\n{done.stderr}{log}")
            self.master_pid = int((self.queue / "pid" / "master.pid").read_text().split()[0])
            wait_for_greeting(self.port, "postfix")
            yield self
        finally:
            self.stop()

    def stop(self) -> None:
        if not self.master_pid:
            self.postfix("stop", check=False)
            return
        its_children = children(self.master_pid)
        self.postfix("stop", check=False)
        deadline = time.monotonic() + 30
        while alive(self.master_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in [self.master_pid, *its_children]:   # stop did not do it: by PID, one by one
            if alive(pid):
                os.kill(pid, signal.SIGKILL)

    def queued(self, *states: str) -> int:
        """Queue files in the given queue directories (default: all that hold mail on
        its way: incoming, active, deferred, maildrop)."""
        return sum(1 for d in states or ("incoming", "active", "deferred", "maildrop")
                   for p in (self.queue / d).rglob("*") if p.is_file())

    def sent(self) -> int:
        """Deliveries the log shows (status=sent; the discard transport's too). The log
        may lag the deliveries a little."""
        return self.log.read_text(errors="replace").count(" status=sent ")
