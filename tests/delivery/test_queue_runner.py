"""The submission queue runner (sendmail's MSP -q30m) as shipped: the command of
tools/systemd/qtsmtp-runqueue.service run against a queue with the server down, every
RUNQINTV minutes, nothing while the client job runs; WRKSMTPQ says when the next run is."""

from __future__ import annotations

import configparser
import os
import shlex
import subprocess
import time

from qtsmtp.config.users import current_profile
from support import CHECKOUT, script

SERVICE = CHECKOUT / "tools" / "systemd" / "qtsmtp-runqueue.service"


def service_command() -> list[str]:
    """ExecStart of the shipped service, with the console script of this installation."""
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(SERVICE)
    command = shlex.split(parser["Service"]["ExecStart"])
    assert command[0] == "/usr/bin/qtsmtp"
    return [script("qtsmtp"), *command[1:]]


def run_service(droot) -> str:
    result = subprocess.run(service_command(), env=droot.env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def maildrop(root) -> list:
    directory = root / "queue" / "maildrop"
    return [p for p in directory.iterdir() if not p.name.startswith(".")]


def last_run_ago(root, minutes: int) -> None:
    """As if the last scheduled run had been ``minutes`` minutes ago. Counted from now,
    not from the run's own time: the seconds the test itself took since that run (a
    minute on a slow enough machine) must not make a run due that is not."""
    stamp = root / "queue" / ".queue-runner"
    then = time.time() - minutes * 60
    os.utime(stamp, (then, then))


def test_scheduled_run_waits_for_the_interval_and_for_no_client_job(droot, sinks):
    hub = sinks()
    droot.run("chgsmtpa", f"FWDHUBSVR('{hub.address}')")
    droot.run("addusrsmtp", current_profile())
    listing = droot.run("wrksmtpq").stdout
    assert "Queue runner: every 30 minutes" in listing and "no run yet" in listing

    droot.run("sndsmtpemm", "RCP(('first@remote.test'))", "SUBJECT(one)")
    out = run_service(droot)                              # the server is down
    assert "TCP5037" in out and "1 submissions picked up" in out
    assert [m[1] for m in hub.messages] == [["first@remote.test"]]

    # Within the interval: nothing is done, and WRKSMTPQ shows when the next run is.
    droot.run("sndsmtpemm", "RCP(('second@remote.test'))", "SUBJECT(two)")
    out = run_service(droot)
    assert "TCP6096" in out and "every 30 minutes" in out
    assert len(maildrop(droot.root)) == 1 and len(hub.messages) == 1
    last = (droot.root / "queue" / ".queue-runner").stat().st_mtime
    listing = droot.run("wrksmtpq").stdout
    assert time.strftime("%Y-%m-%d %H:%M", time.localtime(last + 30 * 60)) in listing

    # The operator shortens the interval; once it has passed the queue runs again.
    droot.run("chgsmtpa", "RUNQINTV(10)")
    last_run_ago(droot.root, 9)
    assert "TCP6096" in run_service(droot)
    last_run_ago(droot.root, 10)
    out = run_service(droot)
    assert "TCP5037" in out and "1 submissions picked up" in out
    assert [m[1] for m in hub.messages][-1] == ["second@remote.test"]

    # With the client job running, a due run does nothing: the job delivers by itself.
    # STRTCPSVR returns once the server jobs listen; the client job takes the queue's
    # delivery lock (what the runner looks at) on its own, and says TCP3040 after it.
    droot.start("SVRJOBS(1)")
    droot.joblog_shows("TCP3040", "QTSMTPCLTD")
    last_run_ago(droot.root, 10)
    before = (droot.root / "queue" / ".queue-runner").stat().st_mtime
    out = run_service(droot)
    assert "TCP6095" in out
    assert (droot.root / "queue" / ".queue-runner").stat().st_mtime == before


def test_runqueue_refuses_unknown_options(droot):
    bad = subprocess.run([script("qtsmtp"), "runqueue", "--scheduled", "--all"], env=droot.env,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "usage: qtsmtp runqueue" in bad.stderr
    bad = droot.run("chgsmtpa", "RUNQINTV(4)", check=False)
    assert bad.returncode != 0 and "Traceback" not in bad.stdout + bad.stderr
