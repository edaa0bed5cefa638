"""A private Postfix and a qtsmtp that relay into each other, both with STARTTLS, on
loopback only; one pair for the whole module (the suite's run time stays modest).

    client -> Postfix 127.0.0.1/::1:P  --transport sys.test (source 127.0.0.5)--> qtsmtp
                                       --transport deny.test (source 127.0.0.6)--> qtsmtp
                                       --everything else--> the sink (aiosmtpd, no DSN)
    client -> qtsmtp 127.0.0.1:Q --FWDHUBSVR [::1]:P--> Postfix

Postfix is an instance of its own (config, queue and data directories in a temporary
directory, ``postfix -c DIR start``, no system file read or changed); qtsmtp trusts
127.0.0.5 (an *ACCEPT entry) and not 127.0.0.6. Postfix refuses reject@post.test with
550 5.1.1. Its log (maillog_file) is read by the tests for warnings.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import smtplib
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from support import eventually, free_port, make_certificate
from support.server import Server

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.interop.test
mydomain = interop.test
inet_protocols = all
mydestination =
relay_domains = post.test far.test sys.test deny.test
local_recipient_maps =
alias_maps =
alias_database =
mynetworks = 127.0.0.0/8 [::1]/128
smtpd_peername_lookup = no
biff = no
maillog_file = {log}
maillog_file_prefixes = {top}
transport_maps = texthash:{conf}/transport
smtpd_recipient_restrictions = check_recipient_access texthash:{conf}/access,
    permit_mynetworks, reject_unauth_destination
smtputf8_enable = yes
message_size_limit = 20971520
smtpd_tls_security_level = may
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtp_tls_security_level = may
smtp_tls_loglevel = 1
smtpd_tls_loglevel = 1
"""

MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
[::1]:{port} inet n - n - - smtpd
smtp      unix  -       -       n       -       -       smtp
qtrust    unix  -       -       n       -       -       smtp -o smtp_bind_address=127.0.0.5
qdeny     unix  -       -       n       -       -       smtp -o smtp_bind_address=127.0.0.6
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

# Lines of Postfix's log that fail a test: its warnings, and what a peer that speaks
# SMTP badly makes it say.
BAD_LOG = ("warning:", "improper command pipelining", "bare <LF>", "lost connection",
           "fatal:", "panic:", "error:")


class Sink:
    """Postfix's final destination for everything not for qtsmtp: aiosmtpd with
    SMTPUTF8 and without DSN, keeping every envelope."""

    class Handler:
        def __init__(self, sink):
            self.sink = sink

        async def handle_DATA(self, server, session, envelope):
            with self.sink.lock:
                self.sink.messages.append(envelope)
            return "250 2.0.0 kept"

    def __init__(self):
        self.lock = threading.Lock()
        self.messages = []
        self.port = free_port()
        self.controller = Controller(self.Handler(self), hostname="127.0.0.1", port=self.port,
                                     server_hostname="sink.test", enable_SMTPUTF8=True,
                                     data_size_limit=50 * 1024 * 1024, ready_timeout=10)

    def to(self, recipient: str) -> list:
        with self.lock:
            return [m for m in self.messages if recipient in m.rcpt_tos]


class Postfix:
    def __init__(self, top: Path, qtsmtp_port: int, sink_port: int, cert: Path, key: Path):
        self.top, self.port = top, free_port()
        self.conf, self.queue, self.data = top / "conf", top / "queue", top / "data"
        self.log = top / "maillog"
        self.qtsmtp_port, self.sink_port = qtsmtp_port, sink_port
        self.cert, self.key = cert, key
        self.master_pid = 0
        self.checked = 0                # log bytes already checked

    def postfix(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["postfix", "-c", str(self.conf), *args], capture_output=True,
                              text=True, timeout=120, check=False)

    def start(self) -> None:
        owner = pwd.getpwnam("postfix")
        self.top.mkdir(mode=0o755)       # the postfix user must reach its directories
        self.top.chmod(0o755)
        for directory in (self.conf, self.queue, self.data):
            directory.mkdir()
        os.chown(self.data, owner.pw_uid, owner.pw_gid)
        (self.conf / "main.cf").write_text(MAIN_CF.format(
            queue=self.queue, data=self.data, log=self.log, top=self.top, conf=self.conf,
            cert=self.cert, key=self.key))
        (self.conf / "master.cf").write_text(MASTER_CF.format(port=self.port))
        (self.conf / "transport").write_text(
            f"sys.test qtrust:[127.0.0.1]:{self.qtsmtp_port}\n"
            f"deny.test qdeny:[127.0.0.1]:{self.qtsmtp_port}\n"
            f"* smtp:[127.0.0.1]:{self.sink_port}\n")
        (self.conf / "access").write_text("reject@post.test 550 5.1.1 no such user here\n")
        for command in ("check", "start"):
            done = self.postfix(command)
            if done.returncode != 0:
                log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
                raise RuntimeError(f"postfix {command} failed:\n{done.stderr}{log}")
        self.master_pid = int((self.queue / "pid" / "master.pid").read_text().split()[0])

        def greets() -> bool:
            try:
                with smtplib.SMTP("127.0.0.1", self.port, timeout=5) as client:
                    client.ehlo("probe.test")
                return True
            except OSError:
                return False
        eventually(greets, "Postfix greets")

    def stop(self) -> None:
        self.postfix("stop")
        deadline = time.monotonic() + 30
        while self.master_pid and _alive(self.master_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if self.master_pid and _alive(self.master_pid):
            os.kill(self.master_pid, signal.SIGKILL)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def new_bad_lines(self) -> list[str]:
        """Lines of the log since the last call that name a warning or a protocol fault."""
        text = self.log_text()
        fresh, self.checked = text[self.checked:], len(text)
        return [line for line in fresh.splitlines() if any(bad in line for bad in BAD_LOG)]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class Pair:
    def __init__(self, qtsmtp: Server, postfix: Postfix, sink: Sink):
        self.qtsmtp, self.postfix, self.sink = qtsmtp, postfix, sink

    def maildir(self, box: str) -> list[bytes]:
        new = self.qtsmtp.root / "mail" / box / "new"
        return [p.read_bytes() for p in sorted(new.iterdir())] if new.exists() else []


@pytest.fixture(scope="module")
def pair():
    if os.geteuid() != 0:
        pytest.fail("the Postfix interop suite needs root: Postfix's daemons run as user postfix")
    # Postfix's daemons (user postfix) must pass through every directory above theirs,
    # and pytest's temporary directories are 0700: a directory of its own, 0755.
    top = Path(tempfile.mkdtemp(prefix="qtsmtp-interop-"))
    tls = top / "tls"
    cert, key = make_certificate(tls)
    os.chmod(top, 0o755)
    os.chmod(tls, 0o755)                       # Postfix reads the key as root, then drops
    sink = Sink()
    sink.controller.start()
    qtsmtp = Server.on_new_root(top / "qtsmtp", "SYSNAME('sys.test')",
                                env={"QTSMTP_DNS": "off"})
    postfix = Postfix(top / "postfix", qtsmtp.port, sink.port, cert, key)
    qtsmtp.run("chgsmtpa", f"TLSCERT('{cert}') TLSKEY('{key}') FWDHUBSVR('[::1]:{postfix.port}')")
    for entry in ("127.0.0.2", "127.0.0.5"):   # a client, and Postfix's trusted transport
        qtsmtp.run("addsmtple", "TYPE(*ACCEPT)", f"INTNETADR('{entry}')")
    for user in (["ALICE"], ["YONGHU", "ALIAS('用户')"]):
        qtsmtp.run("addusrsmtp", *user)
    try:
        postfix.start()
        qtsmtp.start("SVRJOBS(1)")
        yield Pair(qtsmtp, postfix, sink)
    finally:
        leftovers = qtsmtp.shut_down()
        postfix.stop()
        sink.controller.stop()
        shutil.rmtree(top, ignore_errors=True)
    assert not leftovers, f"processes left running: {leftovers}"
