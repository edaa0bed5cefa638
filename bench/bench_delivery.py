"""Delivery throughput: queue -> loopback Postfix smtp-sink, 10,000 messages.

qtsmtp: 10,000 one-recipient 1 KB messages are put in queue/incoming/ with the server's
own queue writer (not timed), FWDHUBSVR points at smtp-sink, and ``qtsmtp runqueue``
(the queue runner: the same engine as QTSMTPCLTD) is timed until it ends with the queue
empty.

Postfix (the peer): a private instance in a temporary directory (the helper of
bench_throughput.py, used as it is, with this benchmark's main.cf: relayhost = the same
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

CHECKOUT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(CHECKOUT / "bench"))

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.bench.test
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relay_domains =
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_peername_lookup = no
relayhost = [127.0.0.1]:{sink_port}
smtp_host_lookup = native
smtp_dns_support_level = disabled
smtp_tls_security_level = none
defer_transports = smtp
biff = no
maillog_file = {log}
maillog_file_prefixes = {top}
"""
SMTP_SERVICE = "smtp      unix  -       -       n       -       -       smtp\n"


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int) -> None:
    import socket
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def start_sink(port: int) -> subprocess.Popen:
    args = ["smtp-sink"] + (["-u", "postfix"] if os.geteuid() == 0 else []) + [f"127.0.0.1:{port}", "256"]
    sink = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port)
    return sink


def message(n: int) -> bytes:
    head = f"From: bench@sys.bench.test\r\nTo: r{n}@remote.test\r\nSubject: bench {n}\r\n\r\n"
    return (head + ("x" * 70 + "\r\n") * 12).encode()


def run_qtsmtp(top: Path, sink_port: int, count: int) -> float:
    root = top / "qtsmtp"
    shutil.copytree(CHECKOUT / "data" / "QUSRSYS", root / "QUSRSYS",
                    ignore=shutil.ignore_patterns(".*"))
    env = {**os.environ, "QTSMTP_ROOT": str(root)}
    subprocess.run([shutil.which("chgsmtpa") or "chgsmtpa", f"FWDHUBSVR('127.0.0.1:{sink_port}')",
                    "SYSNAME('sys.bench.test')"], env=env, check=True, capture_output=True)
    from qtsmtp.queue.writer import QueueWriter, prepare
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
    done = subprocess.run([shutil.which("qtsmtp") or "qtsmtp", "runqueue"], env=env,
                          capture_output=True, text=True, timeout=1800)
    elapsed = time.perf_counter() - started
    print("  qtsmtp:", done.stdout.strip() or done.stderr.strip())
    left = sum(1 for d in ("incoming", "active", "deferred") for _ in (root / "queue" / d).iterdir())
    if left:
        raise RuntimeError(f"qtsmtp left {left} messages in the queue")
    return elapsed


def _queue_files(queue: Path) -> int:
    return sum(1 for d in ("incoming", "active", "deferred", "maildrop")
               for p in (queue / d).rglob("*") if p.is_file())


def run_postfix(top: Path, sink_port: int, count: int) -> float | None:
    if os.geteuid() != 0 or shutil.which("postfix") is None:
        print("  postfix: not run (needs root and Debian package postfix)")
        return None
    try:
        import bench_throughput as helper
        helper.PrivatePostfix                       # the other benchmark's private instance
    except (ImportError, AttributeError):
        print("  postfix: not run (bench_throughput.PrivatePostfix not available)")
        return None
    postfix_top = top / "postfix"
    postfix_top.mkdir()
    helper.POSTFIX_MAIN_CF = MAIN_CF.replace("{sink_port}", str(sink_port))
    if "smtp      unix" not in helper.POSTFIX_MASTER_CF:
        helper.POSTFIX_MASTER_CF += SMTP_SERVICE
    instance = helper.PrivatePostfix(postfix_top)
    with instance.running():
        conf = str(instance.config)
        subprocess.run(["smtp-source", "-s", "10", "-m", str(count), "-l", "1000", "-c",
                        "-f", "bench@sys.bench.test", "-t", "r@remote.test",
                        f"127.0.0.1:{instance.port}"], check=True, capture_output=True, timeout=1800)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:      # cleanup has put them all in the queue
            if sum(1 for p in (instance.queue / "deferred").rglob("*") if p.is_file()) \
                    + sum(1 for p in (instance.queue / "active").rglob("*") if p.is_file()) >= count:
                break
            time.sleep(0.2)
        subprocess.run(["postconf", "-c", conf, "-e", "defer_transports ="], check=True)
        subprocess.run(["postfix", "-c", conf, "reload"], check=True, capture_output=True)
        time.sleep(1.0)                          # the new qmgr has the new setting
        started = time.perf_counter()
        subprocess.run(["postqueue", "-c", conf, "-f"], check=True, capture_output=True)
        deadline = time.monotonic() + 1800
        while _queue_files(instance.queue) and time.monotonic() < deadline:
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        left = _queue_files(instance.queue)
        sent = instance.log.read_text(errors="replace").count(" status=sent ")
        print(f"  postfix: {sent} status=sent in its log, {left} left in its queue")
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
