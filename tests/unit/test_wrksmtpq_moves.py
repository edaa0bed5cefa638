"""WRKSMTPQ lists a message once, where it is, even when the client job moves it between
the directory listing and the read of its envelope (the race is made here by handing
queue_rows a listing taken before the move)."""

from __future__ import annotations

import os

from qtsmtp.programs import wrksmtpq
from qtsmtp.queue import format as qformat
from qtsmtp.queue import states as qstates
from qtsmtp.queue.writer import QueueWriter

ENVELOPE = {"sender": "joe@client.test", "recipients": ["ann@far.test", "bob@far.test"]}


def queued(root, where: str) -> str:
    qformat.prepare(root)
    writer = QueueWriter(root)
    queue_id = writer.new_id()
    writer.store(queue_id, {"id": queue_id, **ENVELOPE}, b"Subject: hi\r\n\r\nbody\r\n")
    writer.close()
    queue = qformat.queue_directory(root)
    if where != qformat.INCOMING:
        os.rename(queue / qformat.INCOMING / queue_id, queue / where / queue_id)
    return queue_id


def listed_before_the_move(monkeypatch, queue_id: str, listed_in: str) -> None:
    """Every listing as it is now, plus queue_id still in ``listed_in``."""
    real = qstates.listing

    def stale(queue, state):
        names = real(queue, state)
        return sorted({*names, queue_id}) if state == listed_in else names

    monkeypatch.setattr(qstates, "listing", stale)


def test_a_message_moved_on_is_one_row_where_it_is_now(tmp_path, monkeypatch):
    queue_id = queued(tmp_path, qformat.ACTIVE)          # the client job took it
    listed_before_the_move(monkeypatch, queue_id, qformat.INCOMING)
    rows = wrksmtpq.queue_rows(tmp_path)
    assert [(row[0], row[1], row[2], row[3]) for row in rows] == [
        (queue_id, qformat.ACTIVE, "joe@client.test", "2/2")]


def test_a_deferred_message_taken_back_is_one_row(tmp_path, monkeypatch):
    queue_id = queued(tmp_path, qformat.ACTIVE)          # deferred, then retried
    listed_before_the_move(monkeypatch, queue_id, qformat.DEFERRED)
    rows = wrksmtpq.queue_rows(tmp_path)
    assert [(row[0], row[1]) for row in rows] == [(queue_id, qformat.ACTIVE)]


def test_a_message_delivered_meanwhile_is_no_row(tmp_path, monkeypatch):
    queue_id = queued(tmp_path, qformat.ACTIVE)
    os.unlink(qformat.queue_directory(tmp_path) / qformat.ACTIVE / queue_id)
    listed_before_the_move(monkeypatch, queue_id, qformat.INCOMING)
    assert wrksmtpq.queue_rows(tmp_path) == []


def test_an_unreadable_file_still_has_its_row(tmp_path):
    queue_id = queued(tmp_path, qformat.CORRUPT)
    (qformat.queue_directory(tmp_path) / qformat.CORRUPT / queue_id).write_bytes(b"garbage\n")
    rows = wrksmtpq.queue_rows(tmp_path)
    assert [(row[0], row[1], row[2]) for row in rows] == [(queue_id, qformat.CORRUPT, "<>")]


def test_a_message_moved_back_to_a_state_already_listed_is_found(tmp_path, monkeypatch):
    """deferred -> active (its retry) after active/ was listed and before deferred/ was."""
    queue_id = queued(tmp_path, qformat.DEFERRED)
    queue = qformat.queue_directory(tmp_path)
    real = qstates.listing

    def moving(where, state):
        names = real(where, state)
        if state == qformat.DEFERRED and queue_id in names:
            os.rename(queue / qformat.DEFERRED / queue_id, queue / qformat.ACTIVE / queue_id)
            return [n for n in names if n != queue_id]       # gone by the time it looks
        return names

    monkeypatch.setattr(qstates, "listing", moving)
    rows = wrksmtpq.queue_rows(tmp_path)
    assert [(row[0], row[1]) for row in rows] == [(queue_id, qformat.ACTIVE)]
