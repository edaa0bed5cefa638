"""The start's sweep of queue/tmp never frees the inode of a queued message.

On ext4 without a journal, a crash between the commit process's fsync of incoming/ and
the write-back of tmp/'s block leaves tmp/ID and incoming/ID naming one inode whose link
count is 1; only e2fsck can count it right. No system call makes that state, so the
link count is shown as the crash leaves it (os.stat wrapped); the hard-link case is a
real one."""

from __future__ import annotations

import os

from qtsmtp.queue import format as qformat
from qtsmtp.queue import sweep

QUEUE_ID = "0661E4A1BA653300074B10001"


def queued_with_tmp_name(root, state: str = qformat.INCOMING):
    queue = qformat.prepare(root)
    queued = queue / state / QUEUE_ID
    queued.write_bytes(b"QTSMTPQ1 {}\n" + b"an acknowledged message\r\n")
    os.link(queued, queue / qformat.TMP / QUEUE_ID)
    return queue, queued


def counted_once(monkeypatch) -> None:
    """os.stat as on the file system the crash left: every link count 1."""
    real = os.stat

    def stat(path, *args, **kwargs):
        result = real(path, *args, **kwargs)
        fields = list(result)
        fields[3] = 1                           # st_nlink
        return os.stat_result(fields)

    monkeypatch.setattr(sweep.os, "stat", stat)


def test_a_second_name_counted_once_is_left_and_reported(tmp_path, monkeypatch):
    for state in (qformat.INCOMING, qformat.ACTIVE, qformat.DEFERRED):
        root = tmp_path / state
        queue, queued = queued_with_tmp_name(root, state)
        counted_once(monkeypatch)
        assert sweep.sweep_tmp(root) == (0, [QUEUE_ID])
        monkeypatch.undo()
        assert (queue / qformat.TMP / QUEUE_ID).exists() and queued.read_bytes().endswith(
            b"an acknowledged message\r\n")


def test_a_second_name_counted_right_is_removed(tmp_path):
    queue, queued = queued_with_tmp_name(tmp_path)      # a real hard link: st_nlink 2
    assert sweep.sweep_tmp(tmp_path) == (1, [])
    assert not (queue / qformat.TMP / QUEUE_ID).exists()
    assert os.stat(queued).st_nlink == 1 and queued.read_bytes().startswith(b"QTSMTPQ1")


def test_an_orphan_of_the_same_name_as_another_file_is_removed(tmp_path, monkeypatch):
    queue = qformat.prepare(tmp_path)
    (queue / qformat.INCOMING / QUEUE_ID).write_bytes(b"QTSMTPQ1 {}\nqueued\r\n")
    (queue / qformat.TMP / QUEUE_ID).write_bytes(b"QTSMTPQ1 {}\nhalf a mess")
    counted_once(monkeypatch)
    assert sweep.sweep_tmp(tmp_path) == (1, [])
    assert (queue / qformat.INCOMING / QUEUE_ID).exists()
