"""Issue 16 item 9: files a killed writer left in queue/tmp are removed when the server
starts (TCP9004), but not one a live process is still writing."""

from __future__ import annotations

import subprocess
import sys

from support import eventually

_WRITER = """
import sys, time
f = open(sys.argv[1], "wb")
f.write(b"QTSMTPQ1 being written")
f.flush()
print("open", flush=True)
time.sleep(120)
"""


def test_orphans_in_queue_tmp_are_swept_at_start_but_not_a_file_being_written(server_root) -> None:
    tmp = server_root.root / "queue" / "tmp"
    tmp.mkdir(parents=True)
    orphans = [tmp / f"0660D3C8F0DC39{n:04d}" for n in range(14)]
    for path in orphans:
        path.write_bytes(b"QTSMTPQ1 {\"id\": \"torn\"}\r\nhalf a mess")
    busy = tmp / "0660D3C8F0DC39BUSY"
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(busy)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert writer.stdout.readline().strip() == "open"
        server_root.start("SVRJOBS(1)")
        assert not any(p.exists() for p in orphans)
        assert busy.exists()
        eventually(lambda: "TCP9004 14 files left in queue/tmp" in server_root.joblog_text("QTSMTPSRVD"),
                   "TCP9004 in the supervisor's log")
        assert server_root.rcpt_code("127.0.0.2", "postmaster") == 250
    finally:
        writer.kill()
        writer.wait()
