"""Delivery throughput: queue -> loopback Postfix smtp-sink, 10,000 messages.

qtsmtp: 10,000 one-recipient 1 KB messages are put in queue/incoming/ with the server's
own queue writer (not timed), FWDHUBSVR points at smtp-sink, and ``qtsmtp runqueue``
(the queue runner: the same engine as QTSMTPCLTD) is timed until it ends with the queue
empty.

Postfix (the peer): a private instance in a temporary directory (_common.PrivatePostfix,
the one bench_throughput.py runs, with this benchmark's settings: relayhost = the same
smtp-sink). The same 10,000 messages are injected over SMTP with smtp-source while
defer_transports = smtp holds them in the queue (not timed); then the hold is lifted,
``postqueue -f`` flushes, and the time until the queue is empty is measured.

Prints messages/second for each and the ratio qtsmtp/Postfix. Everything is on
127.0.0.1; every process started is stopped by PID in a finally.

    python bench/bench_delivery.py [--messages N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from _common import (PrivatePostfix, free_port, new_root, own_block_group, script,
                     spread_subdirectories, wait_for_greeting)

# The peer's settings, after _common's shared ones: everything goes to smtp-sink, held
# in the queue (defer_transports) until the timed flush.
POSTFIX_MAIN_CF = """\
smtpd_relay_restrictions = permit_mynetworks, reject
relayhost = [127.0.0.1]:{sink_port}
smtp_host_lookup = native
smtp_dns_support_level = disabled
smtp_tls_security_level = none
defer_transports = smtp
"""
SMTP_SERVICE = "smtp      unix  -       -       n       -       -       smtp\n"


def start_sink(port: int) -> subprocess.Popen:
    args = ["smtp-sink"] + (["-u", "postfix"] if os.geteuid() == 0 else []) + [f"127.0.0.1:{port}", "256"]
    sink = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_greeting(port, "smtp-sink", 30)
    return sink


def message(n: int) -> bytes:
    head = f"From: bench@sys.bench.test\r\nTo: r{n}@remote.test\r\nSubject: bench {n}\r\n\r\n"
    return (head + ("x" * 70 + "\r\n") * 12).encode()


def run_qtsmtp(top: Path, sink_port: int, count: int) -> float:
    root = own_block_group(top, "qtsmtp")
    env, _ = new_root(root, f"FWDHUBSVR('127.0.0.1:{sink_port}') SYSNAME('sys.bench.test')")
    from qtsmtp.queue.format import prepare
    from qtsmtp.queue.writer import QueueWriter
    prepare(root)
    writer = QueueWriter(root)
    for n in range(count):
        queue_id = writer.new_id()
        body = message(n)
        writer.store(queue_id, {"id": queue_id, "arrival": datetime.now(timezone.utc).isoformat(),
                                "client": "127.0.0.1", "client_port": 1, "helo": "bench",
                                "protocol": "ESMTP", "sender": "bench@sys.bench.test",
                                "recipients": [f"r{n}@remote.test"], "written": [f"r{n}@remote.test"],
                                "size": len(body), "server_job": "000001"}, body)
    started = time.perf_counter()
    done = subprocess.run([script("qtsmtp"), "runqueue"], env=env,
                          capture_output=True, text=True, timeout=1800)
    elapsed = time.perf_counter() - started
    print("  qtsmtp:", done.stdout.strip() or done.stderr.strip())
    left = sum(1 for d in ("incoming", "active", "deferred") for _ in (root / "queue" / d).iterdir())
    if left:
        raise RuntimeError(f"qtsmtp left {left} messages in the queue")
    return elapsed


def run_postfix(top: Path, sink_port: int, count: int) -> float | None:
    why_not = PrivatePostfix.available()
    if why_not:
        print(f"  postfix: not run ({why_not})")
        return None
    postfix_top = own_block_group(top, "postfix")
    instance = PrivatePostfix(postfix_top, POSTFIX_MAIN_CF.format(sink_port=sink_port), SMTP_SERVICE)
    with instance.running():
        conf = str(instance.config)
        subprocess.run(["smtp-source", "-s", "10", "-m", str(count), "-l", "1000", "-c",
                        "-f", "bench@sys.bench.test", "-t", "r@remote.test",
                        f"127.0.0.1:{instance.port}"], check=True, capture_output=True, timeout=1800)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:      # cleanup has put them all in the queue
            if instance.queued("deferred", "active") >= count:
                break
            time.sleep(0.2)
        subprocess.run(["postconf", "-c", conf, "-e", "defer_transports ="], check=True)
        instance.postfix("reload")
        time.sleep(1.0)                          # the new qmgr has the new setting
        started = time.perf_counter()
        subprocess.run(["postqueue", "-c", conf, "-f"], check=True, capture_output=True)
        deadline = time.monotonic() + 1800
        while instance.queued() and time.monotonic() < deadline:
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        print(f"  postfix: {instance.sent()} status=sent in its log, {instance.queued()} left in its queue")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    args = parser.parse_args()
    if shutil.which("smtp-sink") is None:
        print("smtp-sink not found (Debian package postfix)")
        return 1
    top = Path(tempfile.mkdtemp(prefix="bench-delivery-"))
    top.chmod(0o755)
    spread_subdirectories(top)       # each server's queue where nothing was deleted
    sink_port = free_port()
    sink = start_sink(sink_port)
    try:
        print(f"Delivery of {args.messages} messages (1 KB, one recipient) to smtp-sink "
              f"on 127.0.0.1:{sink_port}, {os.cpu_count()} CPUs")
        q = run_qtsmtp(top, sink_port, args.messages)
        p = run_postfix(top, sink_port, args.messages)
        print(f"qtsmtp runqueue   {args.messages / q:10.0f} msg/s  ({q:.2f} s)")
        if p:
            print(f"postfix           {args.messages / p:10.0f} msg/s  ({p:.2f} s)")
            print(f"ratio qtsmtp/postfix (throughput): {p / q:.2f}")
    finally:
        sink.send_signal(signal.SIGTERM)
        try:
            sink.wait(10)
        except subprocess.TimeoutExpired:
            sink.kill()
        shutil.rmtree(top, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
