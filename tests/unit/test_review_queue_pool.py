"""Review of the spare pool (qtsmtp.queue.pool, qfiles's): what a commit process does
with a spare it took but cannot use. A file that is not a spare is kept in corrupt/
for a person, each one, never one in place of another; a spare it could not open for a
reason of its own (out of descriptors) is no reason to take the pool apart."""

from __future__ import annotations

import errno
import os
import resource
from contextlib import contextmanager

import pytest

from qtsmtp.queue import format as qformat
from qtsmtp.queue import pool as qpool
from qtsmtp.queue.writer import QueueWriter


@pytest.fixture
def queue(tmp_path):
    return qformat.prepare(tmp_path)


@pytest.fixture
def tmp_fd(queue):
    fd = os.open(queue / qformat.TMP, os.O_RDONLY | os.O_DIRECTORY)
    yield fd
    os.close(fd)


@contextmanager
def out_of_descriptors():
    """Every descriptor of this process taken (a real EMFILE), given back after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    held = []
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, 512), hard))
    try:
        try:
            while True:
                held.append(os.open(os.devnull, os.O_RDONLY))
        except OSError as full:
            assert full.errno == errno.EMFILE
        yield
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def spare(queue, number: int, content: bytes = b"", mode: int = 0o600):
    path = queue / qformat.SPARE / qpool.slot_name(number)
    path.write_bytes(content)
    path.chmod(mode)
    return path


def test_every_file_set_aside_is_kept_not_only_the_last(queue, tmp_fd) -> None:
    """Two slots holding files filled since (as after a crash of the whole system):
    both are kept in corrupt/, with their bytes; the message gets the empty spare."""
    spare(queue, 0, b"QTSMTPQ1 {} the first message kept")
    spare(queue, 1, b"QTSMTPQ1 {} the second message kept")
    spare(queue, 2)
    pool = qpool.SparePool(queue)
    fd = pool.take("0R1", tmp_fd)
    pool.close()
    assert fd is not None
    os.close(fd)
    assert pool.set_aside == 2
    kept = sorted((queue / qformat.CORRUPT / name).read_bytes()
                  for name in os.listdir(queue / qformat.CORRUPT))
    assert kept == [b"QTSMTPQ1 {} the first message kept",
                    b"QTSMTPQ1 {} the second message kept"]
    assert os.listdir(queue / qformat.SPARE) == []
    assert os.listdir(queue / qformat.TMP) == ["0R1"]


def test_a_commit_process_out_of_descriptors_keeps_its_spares(queue, tmp_fd) -> None:
    """EMFILE while opening a spare it took: the spare is no less a spare. The message
    fails as a create would have (the session says 451); the pool is still there and
    nothing went to corrupt/."""
    for number in range(6):
        spare(queue, number)
    writer = QueueWriter(queue.parent)
    writer.pool = qpool.SparePool(queue)
    os.close(writer.write_tmp("0R1", (b"QTSMTPQ1 {}\r\n",), tmp_fd))   # a running process
    with out_of_descriptors(), pytest.raises(OSError) as failure:
        writer.write_tmp("0R2", (b"QTSMTPQ1 {}\r\n",), tmp_fd)
    assert failure.value.errno == errno.EMFILE
    assert os.listdir(queue / qformat.CORRUPT) == []
    assert writer.pool.set_aside == 0
    names = os.listdir(queue / qformat.SPARE)
    assert len(names) == 5
    for name in names:
        assert qpool.is_slot(name) and qpool.is_spare((queue / qformat.SPARE / name).lstat())
    # Descriptors back: the next message takes a spare.
    fd = writer.write_tmp("0R3", (b"QTSMTPQ1 {}\r\n",), tmp_fd)
    os.close(fd)
    writer.pool.close()
    assert writer.pool.taken == 2
    assert len(os.listdir(queue / qformat.SPARE)) == 4


def test_making_spares_out_of_descriptors_is_no_failure(queue, tmp_fd) -> None:
    """fill() runs when the commit process has nothing else to do: a pool it cannot
    list now (EMFILE) makes nothing, and says so, rather than ending the commit process
    (and with it every message it holds: 451 to each of their sessions)."""
    pool = qpool.SparePool(queue)
    assert pool.take("0R4", tmp_fd) is None       # a message used a file: one is wanted
    with out_of_descriptors():
        made = pool.fill(lambda: False)
    assert made == 0 and pool.short                 # still wanted: made when it can be
    assert pool.fill(lambda: False) == 1
    pool.close()
    assert os.listdir(queue / qformat.SPARE) == ["0000"]
