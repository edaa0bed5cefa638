"""The SMTP journal (CHGSMTPA JOURNAL(*YES)): what happened to every message, as JSON lines.

IBM i journals SMTP events to QUSRSYS/QZMF; qtsmtp writes one JSON object a line to

    $ROOT/QUSRSYS/QZMF/YYYY-MM-DD.jsonl        one file per day (UTC), qtsmtp-journal(5)

from every server job and from the client job at once. Lines never interleave: each
process opens the day's file with O_APPEND and hands the kernel whole lines in a single
write() call; on a local file system an O_APPEND write of a regular file is done under
the file's lock, at its end, in one piece, so two processes' writes follow each other and
never mix. A record is at most MAX_RECORD bytes (longer values are cut) so a write is
never split by a short write either (it is checked, and the rest written, if it were).

The hot path stays cheap: inside an event loop, records are collected and written every
FLUSH_SECONDS in one write(), followed by fdatasync, in a worker thread (one at a time,
in order): a record is on disk within about FLUSH_SECONDS, and when the job ends, the
rest is written and synced before it does. Outside an event loop (a command), each
record is written and synced at once. The queue file, not the journal, is the message's
durable truth; the journal tells its story.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from json.encoder import c_make_encoder, encode_basestring_ascii
from pathlib import Path

from qtsmtp.store.root import SYSTEM_LIBRARY

JOURNAL_FILE = "QZMF"
FLUSH_SECONDS = 0.5
MAX_RECORD = 16 * 1024
MAX_FIELD = 2048


def journal_directory(root: Path) -> Path:
    return Path(root) / SYSTEM_LIBRARY / JOURNAL_FILE


def day_file(root: Path, day: str) -> Path:
    return journal_directory(root) / f"{day}.jsonl"


def enabled(attributes: dict) -> bool:
    return attributes.get("JOURNAL") == "*YES"


def _json_encoder():
    """One encoder for every record, called without JSONEncoder.encode's per-call set-up
    (json.dumps with separators builds a new JSONEncoder each time): a record is encoded
    in half the time. ensure_ascii: a text's length is its length in bytes."""
    encoder = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"))
    if c_make_encoder is None:                  # a Python without the json C module
        return encoder.encode
    chunks = c_make_encoder(None, encoder.default, encode_basestring_ascii, None, ":", ",",
                            False, False, True)
    return lambda entry: "".join(chunks(entry, 0))


_encode = _json_encoder()
_encode_text = encode_basestring_ascii


def _cut(value):
    if isinstance(value, str) and len(value) > MAX_FIELD:
        return value[:MAX_FIELD] + "..."
    if isinstance(value, list) and len(value) > 1000:
        return [_cut(v) for v in value[:1000]] + [f"... {len(value) - 1000} more"]
    if isinstance(value, list):
        return [_cut(v) for v in value]
    return value


class SmtpJournal:
    def __init__(self, root: Path, job: str):
        self.root = Path(root)
        self.job = job
        self._job_text = _encode_text(job)
        self._pending: list[tuple[str, str]] = []      # (day, line without its LF)
        self._timer = None
        self._flushing = False
        self._fds: dict[str, int] = {}
        self._lock = threading.Lock()                  # the writer thread and close()
        self._second = -1
        self._stamp = ""
        self._day = ""

    def record(self, event: str, **fields) -> None:
        now = time.time()
        seconds = int(now)
        if seconds != self._second:           # one strftime a second, not one a record
            self._second = seconds
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
            self._day = self._stamp[:10]
        stamp = f"{self._stamp}.{int((now - seconds) * 1_000_000):06d}+00:00"
        for name, value in fields.items():
            kind = type(value)        # short strings and numbers (most fields): as they are
            if kind is list or (kind is str and len(value) > MAX_FIELD):
                fields[name] = _cut(value)
        if fields and "time" not in fields and "job" not in fields:
            # The fields' object with the record's own three spliced in front: what
            # encoding the whole record gives, without building it first.
            line = (f'{{"time":"{stamp}","event":{_encode_text(event)},"job":{self._job_text},'
                    f'{_encode(fields)[1:]}')
        else:
            line = _encode({"time": stamp, "event": event, "job": self.job, **fields})
        if len(line) >= MAX_RECORD:
            entry = json.loads(line)
            entry = {k: v for k, v in entry.items() if not isinstance(v, list)}
            entry["cut"] = True
            line = _encode(entry)[:MAX_RECORD - 1]
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None:
            self._write([(self._day, line)], sync=True)
            return
        self._pending.append((self._day, line))
        if self._timer is None and not self._flushing:
            self._timer = loop.call_later(FLUSH_SECONDS, self._flush_soon, loop)

    def _flush_soon(self, loop) -> None:
        self._timer = None
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        self._flushing = True
        done = loop.run_in_executor(None, self._write, batch, True)
        done.add_done_callback(lambda _: self._flushed(loop))

    def _flushed(self, loop) -> None:
        self._flushing = False
        if self._pending and self._timer is None:
            self._timer = loop.call_later(FLUSH_SECONDS, self._flush_soon, loop)

    def _write(self, batch: list[tuple[str, str]], sync: bool) -> None:
        with self._lock:
            by_day: dict[str, list[str]] = {}
            for day, line in batch:
                by_day.setdefault(day, []).append(line)
            for day, lines in by_day.items():
                try:
                    fd = self._fd(day)
                    _write_lines(fd, lines)
                    if sync:
                        os.fdatasync(fd)
                except OSError:
                    pass      # a full disk must not stop mail; the job log still has it

    def _fd(self, day: str) -> int:
        fd = self._fds.get(day)
        if fd is None:
            for old in list(self._fds):           # yesterday's file is done with
                os.close(self._fds.pop(old))
            directory = journal_directory(self.root)
            directory.mkdir(mode=0o750, parents=True, exist_ok=True)
            fd = os.open(day_file(self.root, day),
                         os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
            self._fds[day] = fd
        return fd

    def close(self) -> None:
        """Write and sync what is pending (the job is ending)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        if batch:
            self._write(batch, sync=True)
        with self._lock:
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()


def _write_lines(fd: int, lines: list[str]) -> None:
    """Whole lines (ASCII, without their LF), in as few write() calls as the kernel
    allows (one, on a local file system), each call holding only whole lines."""
    if len(lines) > 512 and sum(map(len, lines)) > (1 << 20):
        for start in range(0, len(lines), 512):   # very large batches: whole lines per write
            _write_lines(fd, lines[start:start + 512])
        return
    data = ("\n".join(lines) + "\n").encode()
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


# --- reading ----------------------------------------------------------------------------

def days(root: Path) -> list[str]:
    try:
        names = os.listdir(journal_directory(root))
    except FileNotFoundError:
        return []
    return sorted(n[:-6] for n in names if n.endswith(".jsonl") and len(n) == 16)


def read_records(root: Path, first_day: str = "", last_day: str = "9999-99-99"):
    """Every record of the days from ``first_day`` to ``last_day``, in file order; a
    line that does not parse (a torn last line after a crash) is skipped."""
    for day in days(root):
        if not first_day <= day <= last_day:
            continue
        try:
            with open(day_file(root, day), "rb") as f:
                for line in f:
                    try:
                        record = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(record, dict):
                        yield record
        except FileNotFoundError:
            continue
