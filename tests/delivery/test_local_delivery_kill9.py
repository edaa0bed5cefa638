"""Issue 16 item 9: kill -9 of QTSMTPCLTD during local delivery duplicates at most the
messages in flight. Each local recipient is recorded done right after its Maildir write
(the message taken out of the queue when it was the last), so a kill repeats no
recipient written before it. The duplicates per kill are printed (-s) for the report.
"""

from __future__ import annotations

import collections
import os
import random
import re
import signal
import time

from support import eventually

MESSAGES, KILLS = 1500, 5
BOXES = ("ann", "bob", "ops")              # users of the SMTP directory (droot)


def _tags(root) -> collections.Counter:
    found = collections.Counter()
    for path in (root / "mail").glob("*/new/*"):
        try:
            match = re.search(rb"X-Tag: (m\d+)", path.read_bytes())
        except FileNotFoundError:
            continue
        if match:
            found[(path.parts[-3], match.group(1).decode())] += 1
    return found


def test_kill9_during_local_delivery_duplicates_at_most_what_was_in_flight(droot):
    droot.start("SVRJOBS(1)")
    wanted = set()
    for n in range(MESSAGES):
        tag = f"m{n:05d}"
        boxes = BOXES[: 1 + n % 3]               # one, two or three local recipients
        droot.queue_message("joe@remote.test", [f"{b}@sys.test" for b in boxes],
                            f"Subject: {tag}\r\nX-Tag: {tag}\r\n\r\nbody {tag}\r\n".encode())
        wanted |= {(b, tag) for b in boxes}
    rng = random.Random(9)
    kills = 0
    deadline = time.monotonic() + 120
    while kills < KILLS and time.monotonic() < deadline:
        time.sleep(rng.uniform(0.05, 0.3))
        if len(_tags(droot.root)) >= len(wanted):
            break
        pids = droot.job_pids("QTSMTPCLTD")
        if pids:
            os.kill(pids[0], signal.SIGKILL)
            kills += 1
            eventually(lambda pids=pids: droot.job_pids("QTSMTPCLTD") and droot.job_pids("QTSMTPCLTD") != pids,
                       "a new client job", 60)
    assert kills >= 1
    eventually(lambda: set(_tags(droot.root)) >= wanted, "every recipient delivered",
               limit=300, pause=0.2)
    delivered = _tags(droot.root)
    assert set(delivered) == wanted
    duplicates = sum(count - 1 for count in delivered.values())
    print(f"\nlocal delivery: {len(wanted)} recipients, {kills} kills of QTSMTPCLTD, "
          f"{duplicates} duplicates ({duplicates / kills:.1f} per kill)")
    # At most the recipient being written when each kill came (one per delivery worker).
    assert duplicates <= kills, duplicates
