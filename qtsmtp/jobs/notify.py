"""Read-your-writes: a command that changed the configuration returns once every running
server job applies the change.

Every server job listens on a Unix socket beside its job record (``QSYSWRK/jobs/
NNNNNN.sock``, mode 0600). After its change is durable, ADDSMTPLE, RMVSMTPLE and
CHGSMTPA (``confirm``), and the exit program commands, send each running server job the change journal position of
the change (journal id and generation, store.journal) and wait for "applied": the job
has then read the journal that far and its policy for new connections holds the change.
The wait is bounded by CONFIRM_SECONDS in all; a job that does not answer in time, or
answers that it keeps its last good policy (a member that does not parse), is named in
a diagnostic message (TCP2665, TCP2666): the change is stored all the same, and the job
applies it when it can. With no server job running nothing is waited for.

A job opens its socket (``listen``) before it reads the journal at start, so a job
without a socket yet will read the change before it serves anyone: it needs no word.

Request and answers are one line each: "apply <journal id> <generation>", then
"applied <journal id> <generation>" or "failed <reason>".
"""

from __future__ import annotations

import os
import time

from qtsmtp.jobs import procstat, table
from qtsmtp.messages import Message
from qtsmtp.store import journal
from qtsmtp.store.member import current_group
from qtsmtp.store.root import SYSTEM_LIBRARY

TYPE_CHECKING = False            # a CL command confirms a change without pathlib
if TYPE_CHECKING:
    from pathlib import Path

# socket and selectors are imported where a job is listened to or reached: a command
# that changes a member while no server runs (the usual case) never needs them, and
# they cost its start-up time (bench/bench_cl.py).

CONFIRM_SECONDS = 5.0
RETRY_SECONDS = 0.01
MAX_LINE = 4096
# Jobs (pid, start time) that did not answer this process in time: a script is not held
# up CONFIRM_SECONDS at every group commit by a job it has been told about once.
_unresponsive: set[tuple[int, int]] = set()
# Longer socket paths than this do not fit sockaddr_un (108 bytes): reach them through
# /proc/self/fd/N/name, a directory descriptor, instead.
_SUN_PATH = 100


def _address(path: Path) -> tuple[str, int]:
    """An address for ``path`` that fits sockaddr_un, and the descriptor to close after
    bind or connect (-1 for none)."""
    if len(os.fsencode(path)) <= _SUN_PATH:
        return str(path), -1
    directory = os.open(path.parent, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    return f"/proc/self/fd/{directory}/{path.name}", directory


def listen(root: Path, number: str):
    """The job's socket, bound (mode 0600, whatever the umask) and listening; the job
    answers on it once it serves (qtsmtp.server.worker)."""
    path = table.socket_path(root, number)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)                 # a job number given out again
    import socket
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    address, directory = _address(path)
    try:
        sock.bind(address)
        # No one can connect before listen(): the mode is right before anyone may.
        os.chmod(path, 0o600)
        sock.listen(64)
    except BaseException:
        sock.close()
        raise
    finally:
        if directory >= 0:
            os.close(directory)
    sock.setblocking(False)
    return sock


def forget(root: Path, number: str) -> None:
    table.socket_path(root, number).unlink(missing_ok=True)


def confirm_change(root: Path) -> list[Message]:
    """After this process changed a member of the system library: confirm the change
    now (``confirm``), or, inside a group commit (``qtsmtp run``), once the group is
    durable: one round trip per group, for its last change. Returns the messages of
    jobs that did not confirm (in a group, they come from the group's flush)."""
    library = f"{root}/{SYSTEM_LIBRARY}"        # as MemberFile names its journal
    group = current_group()
    if group is None:
        return confirm(root, journal.last_written(library))
    if not group.has_after_sync(library):
        group.after_sync(library, lambda: confirm(root, journal.last_written(library)))
    return []


def confirm(root: Path, position: tuple[str, int] | None,
            timeout: float = CONFIRM_SECONDS) -> list[Message]:
    """Ask every running server job to apply the change journal up to ``position``
    (journal id, generation) and wait, ``timeout`` seconds at most in all. Returns a
    diagnostic message for each job that did not confirm; [] when all did, or none runs."""
    if position is None:
        return []
    jobs = [job for job in table.active_jobs(root) if job.name == table.SERVER_JOB
            and (job.pid, job.pid_start) not in _unresponsive]
    if not jobs:
        return []
    deadline = time.monotonic() + timeout
    request = f"apply {position[0] or '-'} {position[1]}\n".encode()
    messages: list[Message] = []
    import selectors
    selector = selectors.DefaultSelector()
    try:
        for job in jobs:
            sock = _connect(root, job, deadline)
            if sock is None:
                continue             # no socket: it reads the journal before it serves
            if sock is False:
                messages.append(_no_answer(job, timeout))
                continue
            try:
                sock.sendall(request)
            except OSError:
                sock.close()
                if not _ended(job, deadline):
                    messages.append(_no_answer(job, timeout))
                continue
            selector.register(sock, selectors.EVENT_READ, [job, b""])
        while selector.get_map() and (left := deadline - time.monotonic()) > 0:
            for key, _ in selector.select(left):
                job, got = key.data
                try:
                    chunk = key.fileobj.recv(MAX_LINE)
                except OSError:
                    chunk = b""
                got += chunk
                key.data[1] = got
                if b"\n" not in got and chunk and len(got) < MAX_LINE:
                    continue
                selector.unregister(key.fileobj)
                key.fileobj.close()
                answer = got.split(b"\n", 1)[0].decode("utf-8", "replace")
                word, _, rest = answer.partition(" ")
                if word == "applied":
                    continue
                if word == "failed":
                    messages.append(Message("TCP2666", job.qualified, rest or "no reason given"))
                elif not _ended(job, deadline):
                    messages.append(_no_answer(job, timeout))
        for key in list(selector.get_map().values()):
            job, _ = key.data
            messages.append(_no_answer(job, timeout))
            key.fileobj.close()
    finally:
        selector.close()
    return sorted(messages, key=lambda m: m.data[0])      # by job, whoever answered first


def _connect(root: Path, job: table.JobRecord, deadline: float):
    """A connected socket to the job; None when it has no socket yet or has ended (it
    needs no word); False when it did not take the connection in time."""
    import socket
    path = table.socket_path(root, job.number)
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        directory = -1
        try:
            address, directory = _address(path)
            sock.settimeout(max(0.0, deadline - time.monotonic()))
            sock.connect(address)
            sock.setblocking(False)
            return sock
        except FileNotFoundError:
            sock.close()
            return None
        except (ConnectionRefusedError, BlockingIOError, InterruptedError, socket.timeout):
            # Bound but not yet listening, or its backlog full: the job is starting or
            # busy. Gone: it needs no word.
            sock.close()
            if not procstat.is_alive(job.pid, job.pid_start):
                return None
            if time.monotonic() + RETRY_SECONDS >= deadline:
                return False
            time.sleep(RETRY_SECONDS)
        except OSError:
            sock.close()
            return None if not procstat.is_alive(job.pid, job.pid_start) else False
        finally:
            if directory >= 0:
                os.close(directory)


def _ended(job: table.JobRecord, deadline: float) -> bool:
    """Has the job ended? It closed its socket without an answer: it may be ending,
    its socket closed a moment before the kernel says so (a job killed needs no word:
    its replacement reads the journal before it serves)."""
    wait_until = min(deadline, time.monotonic() + 0.2)
    while procstat.is_alive(job.pid, job.pid_start):
        if time.monotonic() >= wait_until:
            return False
        time.sleep(0.005)
    return True


def _no_answer(job: table.JobRecord, timeout: float) -> Message:
    _unresponsive.add((job.pid, job.pid_start))
    return Message("TCP2665", job.qualified, f"{timeout:g}")
