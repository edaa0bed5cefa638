"""kill -9 of QTSMTPCLTD at random moments during 2,000 deliveries: after the supervisor
replaces it, every accepted message is delivered; duplicates only for those in flight."""

from __future__ import annotations

import collections
import os
import random
import signal
import time

from support import eventually

MESSAGES, KILLS = 2000, 6


def test_kill9_of_the_client_job_loses_nothing(droot, sinks):
    hub = sinks()
    droot.run("chgsmtpa", f"FWDHUBSVR('{hub.address}')", "MAXOUTEMM(20)")
    droot.start("SVRJOBS(1)")
    accepted = set()
    for n in range(MESSAGES):
        tag = f"m{n:05d}"
        droot.queue_message("joe@sys.test", [f"{tag}@remote.test"],
                            f"Subject: {tag}\r\nX-Tag: {tag}\r\n\r\nbody {tag}\r\n".encode())
        accepted.add(tag)
    rng = random.Random(5)
    kills = 0
    deadline = time.monotonic() + 120
    while kills < KILLS and len(hub.messages) < MESSAGES and time.monotonic() < deadline:
        time.sleep(rng.uniform(0.02, 0.4))
        pids = droot.job_pids("QTSMTPCLTD")
        if pids:
            os.kill(pids[0], signal.SIGKILL)
            kills += 1
            eventually(lambda: droot.job_pids("QTSMTPCLTD") and droot.job_pids("QTSMTPCLTD") != pids,
                       "a new client job")
    assert kills >= 1
    eventually(lambda: len({r for _, rs, _ in hub.messages for r in rs}) >= MESSAGES,
               "every accepted message delivered", limit=300, pause=0.2)
    delivered = collections.Counter(r.split("@")[0] for _, rs, _ in hub.messages for r in rs)
    assert set(delivered) == accepted
    duplicates = sum(c - 1 for c in delivered.values())
    assert duplicates <= kills * 20, duplicates          # at most what was in flight
    queue = droot.root / "queue"
    eventually(lambda: not any(next((queue / d).iterdir(), None) for d in ("incoming", "active", "deferred")),
               "queue empty")
