"""What every test package shares: the checkout, the console scripts and the tools the
tests drive, free loopback ports, a copy of the embedded default library, processes
looked up in /proc, and ``eventually`` (bounded polling for a condition). The running
server and its job table are in ``support.server``.

Imported as ``support``: pytest's default (prepend) import mode puts tests/ on sys.path
for tests/conftest.py, before any test module is imported.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[2]
EMBEDDED_LIBRARY = CHECKOUT / "data" / "QUSRSYS"


def script(name: str) -> str:
    """A console script of this installation: next to the interpreter (a venv) first,
    else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if not found:
        pytest.fail(f"console script {name} is not installed: pip install -e .")
    return found


def console_process(qroot: Path, name: str, *args: str, held_at: str | None = None,
                    seconds: int = 0) -> subprocess.Popen:
    """A console script started on ``qroot``; with ``held_at`` (a system call) run under
    strace, which holds every such call ``seconds`` before it returns: the window in
    which a test plays the hand edit that races the command."""
    prefix: tuple[str, ...] = ()
    if held_at:
        if shutil.which("strace") is None:
            raise AssertionError("strace is needed (Debian package strace, in .ci/run)")
        prefix = ("strace", "-f", "-qq", "-o", os.devnull, "-e", f"trace={held_at}",
                  "-e", f"inject={held_at}:delay_exit={seconds * 1_000_000}")
    return subprocess.Popen([*prefix, script(name), *args], text=True,
                            env={**os.environ, "QTSMTP_ROOT": str(qroot)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def tool(name: str, package: str) -> str:
    """A program the tests drive (swaks, nmap, tmux, mandoc ...), from the Debian package
    ``package``; the test fails, saying what to install, when it is missing."""
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed (Debian/Ubuntu: apt-get install {package}; "
                    f".ci/run installs it)")
    return found


# free_port chooses below the kernel's range of ephemeral ports (ip_local_port_range,
# 32768-60999 by default), from which every outgoing connection takes its local port: a
# port chosen there with bind(0) stays free only until the server binds it, and a client
# connection of the same test (or a delivery attempt) could take it meanwhile. Ports
# handed out are not handed out again in this process: two servers of one test are
# given their ports before either binds.
PORT_FLOOR = 10000
_handed_out: set[int] = set()


def _ephemeral_low() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A port free on 127.0.0.1 and on ::1 (the embedded default library binds both),
    below the ephemeral range, never one this process handed out before."""
    import random
    top = _ephemeral_low()
    if top - PORT_FLOOR < 4096:           # a range moved down: take what bind(0) gives
        return _bound_zero_port()
    for _ in range(500):
        port = random.randrange(PORT_FLOOR, top)
        if port not in _handed_out and _free_on_both(port):
            _handed_out.add(port)
            return port
    raise RuntimeError("no free port on loopback")


def _free_on_both(port: int) -> bool:
    try:
        with socket.socket() as s4, socket.socket(socket.AF_INET6) as s6:
            s4.bind(("127.0.0.1", port))
            s6.bind(("::1", port))
    except OSError:
        return False
    return True


def _bound_zero_port() -> int:
    for _ in range(50):
        with socket.socket() as s4:
            s4.bind(("127.0.0.1", 0))
            port = s4.getsockname()[1]
        if port not in _handed_out and _free_on_both(port):
            _handed_out.add(port)
            return port
    raise RuntimeError("no free port on loopback")


def new_library(root: Path) -> Path:
    """``root`` (made if need be) holding a copy of the embedded default library, as
    QUSRSYS; returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(EMBEDDED_LIBRARY, root / "QUSRSYS", ignore=shutil.ignore_patterns(".*"))
    return root


def member(root: Path, file: str, name: str) -> str:
    """The text of QUSRSYS/FILE/NAME under ``root``; "" when there is none."""
    path = root / "QUSRSYS" / file / name
    return path.read_text() if path.exists() else ""


def eventually(check, what: str, limit: float = 30.0, pause: float = 0.05):
    """Poll ``check`` until it returns a true value, and return that value. The limit
    only bounds the loop (a failing test ends); it is not a performance expectation."""
    deadline = time.monotonic() + limit
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(pause)


@contextmanager
def blocklist_server(listed: set[str], silent: tuple[str, ...] = ()):
    """A DNS blocklist on 127.0.0.1 (UDP, a thread): A 127.0.0.2 for the query names in
    ``listed`` ("9.0.0.127.bl.example."), no answer at all for names ending in one of
    ``silent``, NXDOMAIN for the rest. Yields its address, "127.0.0.1:PORT"."""
    import dns.message
    import dns.rrset
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(4096)
            except (socket.timeout, OSError):
                continue
            query = dns.message.from_wire(data)
            name = str(query.question[0].name)
            if name.endswith(silent) and silent:
                continue
            response = dns.message.make_response(query)
            if name in listed:
                response.answer.append(dns.rrset.from_text(name, 60, "IN", "A", "127.0.0.2"))
            else:
                response.set_rcode(3)      # NXDOMAIN
            sock.sendto(response.to_wire(), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        sock.close()


# --- processes, read from /proc ------------------------------------------------------------

def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first), or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()
    except OSError:
        return None


def process_state(pid: int) -> str:
    """The state letter ps shows (R, S, T, Z ...), or "gone"."""
    fields = _stat(pid)
    return fields[0] if fields else "gone"


def process_start(pid: int) -> int:
    """The start time of ``pid`` (/proc/PID/stat, as the job table records it); 0 if gone."""
    fields = _stat(pid)
    return int(fields[19]) if fields else 0


def process_running(pid: int, started: int = 0) -> bool:
    """True while ``pid`` exists and is not a zombie; with ``started`` (the start time of
    /proc/PID/stat, as the job table records it), only if it is still that process and
    not a later one that was given the same number."""
    fields = _stat(pid)
    if not fields or fields[0] in ("Z", "X"):
        return False
    return not started or int(fields[19]) == started


def children_named(parent: int, name: str) -> list[int]:
    """The live child processes of ``parent`` whose name (ps, /proc/PID/comm) is ``name``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat.rsplit(")", 1)[1].split()
        if int(rest[1]) == parent and comm == name and rest[0] not in ("Z", "X"):
            found.append(int(entry))
    return found


def make_certificate(directory: Path, common_name: str = "localhost") -> tuple[Path, Path]:
    """A self-signed certificate and its key (0600) in ``directory``, made by openssl."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", f"/CN={common_name}", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    os.chmod(key, 0o600)
    return cert, key
