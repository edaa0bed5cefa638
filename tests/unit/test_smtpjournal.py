"""The SMTP journal writer: whole lines from several processes at once, one file a day."""

from __future__ import annotations

import asyncio
import json
import multiprocessing

from qtsmtp.jobs import smtpjournal


def _writer(root: str, job: str, count: int) -> None:
    journal = smtpjournal.SmtpJournal(root, job)
    for n in range(count):
        # Long records (near 3 KB) make a torn or mixed line likely if writes could mix.
        journal.record("rcpt", n=n, recipient=f"{job}-{n}@x.test", filler=job * 1000)
    journal.close()


def test_processes_appending_at_once_never_mix_their_lines(tmp_path):
    jobs, count = 4, 400
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_writer, args=(str(tmp_path), f"{j:03d}", count))
               for j in range(jobs)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    lines = [line for day in smtpjournal.days(tmp_path)
             for line in smtpjournal.day_file(tmp_path, day).read_bytes().splitlines()]
    records = [json.loads(line) for line in lines]          # each line one whole record
    assert len(records) == jobs * count
    for j in range(jobs):
        numbers = [r["n"] for r in records if r["job"] == f"{j:03d}"]
        assert numbers == list(range(count))                # in order, none lost


def test_records_go_to_the_file_of_their_utc_day_and_are_read_back(tmp_path, monkeypatch):
    journal = smtpjournal.SmtpJournal(tmp_path, "000001")
    times = iter([1767225599.5, 1767225600.5])             # 2025-12-31 23:59:59, 2026-01-01
    monkeypatch.setattr(smtpjournal.time, "time", lambda: next(times))
    journal.record("connect", client="127.0.0.2")
    journal.record("connect", client="127.0.0.3")
    journal.close()
    assert smtpjournal.days(tmp_path) == ["2025-12-31", "2026-01-01"]
    assert [r["client"] for r in smtpjournal.read_records(tmp_path)] == ["127.0.0.2", "127.0.0.3"]
    assert [r["client"] for r in smtpjournal.read_records(tmp_path, "2026-01-01")] == ["127.0.0.3"]


def test_a_torn_last_line_is_skipped_and_huge_values_are_cut(tmp_path):
    journal = smtpjournal.SmtpJournal(tmp_path, "000001")
    journal.record("mail", sender="a" * 100_000, recipients=["r@x.test"] * 5000)
    journal.close()
    day = smtpjournal.days(tmp_path)[0]
    path = smtpjournal.day_file(tmp_path, day)
    assert len(path.read_bytes()) <= smtpjournal.MAX_RECORD
    with open(path, "ab") as f:
        f.write(b'{"time":"2026-')                           # a crash mid-line
    records = list(smtpjournal.read_records(tmp_path))
    assert len(records) == 1 and records[0]["sender"].endswith("...")


def test_a_batch_of_long_records_is_written_whole(tmp_path):
    # What an event loop collects in FLUSH_SECONDS when every record is near MAX_RECORD:
    # more than 1 MiB in fewer than 512 lines, written in one batch.
    journal = smtpjournal.SmtpJournal(tmp_path, "000001")

    async def collect() -> None:
        for n in range(100):
            journal.record("rcpt", n=n, explanation="x" * 2000, recipients=["r" * 2000] * 7)

    asyncio.run(collect())
    assert len(journal._pending) == 100
    journal.close()
    records = list(smtpjournal.read_records(tmp_path))
    assert [r["n"] for r in records] == list(range(100))
    assert all(len(r["recipients"]) == 7 for r in records)
