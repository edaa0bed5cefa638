"""JOURNAL(*YES) over SMTP: every event of a message in the journal, read back with
DSPSMTPJRN and its selections; concurrent writers never mix their lines."""

from __future__ import annotations

import json
import threading
from email.message import EmailMessage

from support import eventually


def message(subject: str = "hello") -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "joe@client.test", "postmaster", subject
    mail.set_content("body\n")
    return mail


def journal_lines(server, whole_only: bool = True) -> list[str]:
    """The journal's lines. A job writes its records in batches, one write() each, and
    a reader may see a write of several pages half done: with ``whole_only``, a last
    line without its LF is being written and is left for the next look."""
    lines = []
    for path in sorted((server.root / "QUSRSYS" / "QZMF").glob("*.jsonl")):
        text = path.read_text()
        lines += (text[:text.rfind("\n") + 1] if whole_only else text).splitlines()
    return lines


def entries(result) -> list[str]:
    """The journal lines DSPSMTPJRN printed (the TCP7020 count follows them)."""
    return [line for line in result.stdout.splitlines() if line[:2] == "20"]


def events(server) -> list[dict]:
    return [json.loads(line) for line in journal_lines(server)]


def test_a_message_story_from_connection_to_delivery(server_root):
    server_root.run("chgsmtpa", "JOURNAL(*YES)")
    server_root.start("SVRJOBS(2)")
    client = server_root.smtp("127.0.0.2")
    assert client.rcpt("someone@elsewhere.test")[0] == 503       # no MAIL yet: no event
    client.mail("joe@client.test")
    assert client.rcpt("someone@elsewhere.test")[0] == 550        # a refused relay
    assert client.rcpt("postmaster")[0] == 250
    client.data(message().as_string())
    client.quit()
    queued = eventually(lambda: [e for e in events(server_root) if e["event"] == "queued"],
                        "the queued record")
    queue_id = queued[0]["queue_id"]
    eventually(lambda: any(e["event"] == "delivery" and e["queue_id"] == queue_id
                           for e in events(server_root)), "the delivery record")

    shown = server_root.run("dspsmtpjrn", f"MSGID({queue_id})")
    story = "\n".join(entries(shown))
    kinds = [line.split()[2] for line in entries(shown)]
    assert kinds == ["connect", "helo", "mail", "rcpt", "rcpt", "queued", "delivery"], story
    assert "allowed=False" in story and "ALWRLY" in story          # the refusal explained
    assert "status=sent" in story
    refused = entries(server_root.run("dspsmtpjrn", "RCPT('someone@ELSEWHERE.test')"))
    assert len(refused) == 1 and "allowed=False" in refused[0]
    by_client = server_root.run("dspsmtpjrn", "CLIENT('127.0.0.3')")
    assert entries(by_client) == [] and "TCP7020 0 SMTP journal entries" in by_client.stdout
    generic = "\n".join(entries(server_root.run("dspsmtpjrn", "SENDER('JOE@*')")))
    assert "sender=joe@client.test" in generic
    printed = server_root.run("dspsmtpjrn", f"MSGID({queue_id}) OUTPUT(*PRINT)").stdout
    assert "Display SMTP Journal" in printed and "E N D  O F  L I S T I N G" in printed
    assert all(len(line) <= 132 for line in printed.splitlines())
    everything = entries(server_root.run("dspsmtpjrn"))
    assert len(everything) >= 7
    # The first and the last day of the story (the same day, unless it crossed midnight).
    days = sorted({event["time"][:10] for event in events(server_root)})
    assert entries(server_root.run(
        "dspsmtpjrn", f"FROMTIME('{days[0]}') TOTIME('{days[-1]}')")) == everything
    assert entries(server_root.run("dspsmtpjrn", "TOTIME('2000-01-01')")) == []


def test_bad_times_are_refused_with_a_message(server_root):
    for value, msgid in (("yesterday", "TCP7021"), ("2026-13-45", "TCP7021"),
                         ("2026-01-01 25:00", "TCP7021")):
        result = server_root.run("dspsmtpjrn", f"FROMTIME('{value}')", check=False)
        assert result.returncode != 0 and msgid in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    result = server_root.run("dspsmtpjrn", "FROMTIME('2026-02-02') TOTIME('2026-02-01')", check=False)
    assert result.returncode != 0 and "TCP7023" in result.stderr
    result = server_root.run("dspsmtpjrn")
    assert "TCP7022" in result.stderr          # JOURNAL is *NO: said


def test_journal_off_writes_nothing(server):
    client = server.smtp("127.0.0.2")
    client.send_message(message())
    client.quit()
    eventually(lambda: server.joblog_shows("TCP3052"), "the message queued")
    assert journal_lines(server) == []


def test_concurrent_writers_never_mix_lines(server_root):
    server_root.run("chgsmtpa", "JOURNAL(*YES)")
    server_root.start("SVRJOBS(2)")
    per_thread, threads = 15, 4

    def send_some(index: int) -> None:
        client = server_root.smtp(f"127.0.0.{index + 2}")
        for n in range(per_thread):
            client.send_message(message(f"m{index}-{n}"))
        client.quit()

    workers = [threading.Thread(target=send_some, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    total = per_thread * threads

    def journalled(event: str) -> int:
        return sum(1 for e in events(server_root) if e["event"] == event)

    # Each job writes its own records every FLUSH_SECONDS: the client job's delivery
    # record may reach the file before the server job's queued record of the same
    # message (seen: 60 deliveries and 46 queued). Wait for both kinds, then end the
    # server so that every job has written and closed what it held: nothing is being
    # written while every line is read, the last one too.
    eventually(lambda: journalled("delivery") >= total and journalled("queued") >= total,
               "every queued and delivery record journalled")
    server_root.end()
    lines = journal_lines(server_root, whole_only=False)
    records = [json.loads(line) for line in lines]          # every line whole JSON
    assert sum(1 for r in records if r["event"] == "queued") == total
    assert len({r["job"] for r in records}) >= 2             # server and client jobs wrote
