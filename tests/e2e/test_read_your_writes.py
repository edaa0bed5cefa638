"""Read-your-writes: when ADDSMTPLE, RMVSMTPLE or CHGSMTPA returns while the server
runs, every server job applies the change, so the very next connection sees it.

With two server jobs (a connection may reach either), each round adds a *REJECT entry
for a loopback address and at once connects from it (554), then removes it and at once
relays from it (the address is in an *ACCEPT network: 250 for a far recipient). No
waiting, no retry: every connection must see the change. 200 rounds run through one
Python process calling the console's own front door (qtsmtp.console.run_console, what
the addsmtple script calls) in a row, 20 through the real console scripts.

Crash safety: a command killed (SIGKILL) between its journal record and its member
write, and a server job killed while it applies a record; afterwards every job's
decisions are those of a policy compiled from the members.
"""

from __future__ import annotations

import json
import os
import signal
import smtplib
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qtsmtp.config.address import canonical_recipient
from qtsmtp.config.policyload import compile_policy
from qtsmtp.store import journal
from support import CHECKOUT, eventually, free_port, script
from support.server import Server

FAR = "user@far.example"
ROUNDS_IN_PROCESS = 200
ROUNDS_CONSOLE = 20
ROUND_LIMIT_SECONDS = 180          # bounds each loop, whatever the machine
ACCEPTED = "127.0.64.0"            # *ACCEPT 127.0.64.0/24: these clients may relay
PROBES = [f"127.0.64.{n}" for n in (1, 2, 3, 9, 77, 200)] + ["127.0.65.1", "127.0.0.2"]

# One process for the in-process rounds: reads a command line, runs it as the console
# does, and says its exit status. Everything the command prints goes to stderr.
FRONT_DOOR = r"""
import contextlib, sys
from qtsmtp.console import run_console
for line in sys.stdin:
    name, _, rest = line.strip().partition(" ")
    with contextlib.redirect_stdout(sys.stderr):
        status = run_console(name, [rest])
    print(status, flush=True)
"""


@pytest.fixture
def server(tmp_path) -> Server:
    faults = tmp_path / "fault"
    server = Server.on_new_root(tmp_path / "root", f"FWDHUBSVR('127.0.0.1:{free_port()}')",
                                env={journal.FAULT_ENV: f"once:{faults}"})
    server.faults = faults
    server.start("SVRJOBS(2)")
    server.run("addsmtple", "*ACCEPT", f"INTNETADR('{ACCEPTED}')", "SUBNETMASK('255.255.255.0')")
    yield server
    leftovers = server.shut_down()
    assert not leftovers, f"processes left running: {leftovers}"


class FrontDoor:
    """A persistent process running commands through qtsmtp.console.run_console."""

    def __init__(self, server: Server):
        self.process = subprocess.Popen(
            [sys.executable, "-c", FRONT_DOOR], cwd=CHECKOUT, env=server.env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        server.track(self.process.pid)

    def run(self, command: str) -> int:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        assert answer, f"the front door process ended: {self.process.stderr.read()}"
        return int(answer)

    def close(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def connect_code(server: Server, source: str) -> int:
    """220 when the client is greeted, else the code it is refused with."""
    try:
        client = smtplib.SMTP("127.0.0.1", server.port, source_address=(source, 0), timeout=30)
    except smtplib.SMTPConnectError as refused:
        return refused.smtp_code
    client.quit()
    return 220


def relay_code(server: Server, source: str) -> int:
    """The RCPT reply to a far recipient, or the code the connection is refused with."""
    try:
        return server.rcpt_code(source, FAR)
    except smtplib.SMTPConnectError as refused:
        return refused.smtp_code


def round_address(n: int) -> str:
    return f"127.0.64.{n % 250 + 1}"


def test_every_connection_after_a_command_sees_its_change(server) -> None:
    door = FrontDoor(server)
    failures = []
    deadline = time.monotonic() + ROUND_LIMIT_SECONDS
    try:
        for n in range(ROUNDS_IN_PROCESS):
            assert time.monotonic() < deadline, f"only {n} rounds in {ROUND_LIMIT_SECONDS} s"
            address = round_address(n)
            assert door.run(f"ADDSMTPLE *REJECT INTNETADR('{address}')") == 0
            if (code := connect_code(server, address)) != 554:
                failures.append((n, "add", address, code))
            assert door.run(f"RMVSMTPLE *REJECT INTNETADR('{address}')") == 0
            if (code := relay_code(server, address)) != 250:
                failures.append((n, "remove", address, code))
    finally:
        door.close()
    assert not failures, f"{len(failures)} of {2 * ROUNDS_IN_PROCESS} connections missed the change: {failures[:10]}"
    # Both jobs took part: the kernel spread the connections over them.
    for job in server.jobs():
        if job["name"] == "QTSMTPSRVP":
            log = server.log_of(job)
            assert log.count(" TCP3022 ") >= ROUNDS_IN_PROCESS, job["number"]


def test_the_console_scripts_return_only_when_every_job_has_the_change(server) -> None:
    failures = []
    deadline = time.monotonic() + ROUND_LIMIT_SECONDS
    for n in range(ROUNDS_CONSOLE):
        assert time.monotonic() < deadline, f"only {n} rounds in {ROUND_LIMIT_SECONDS} s"
        address = f"127.0.64.{n + 100}"
        added = subprocess.run([script("addsmtple"), f"*REJECT INTNETADR('{address}')"],
                               env=server.env, capture_output=True, text=True, timeout=60)
        assert (added.returncode, added.stdout, added.stderr) == (
            0, "TCP2660 SMTP list entry added.\n", "")
        if (code := connect_code(server, address)) != 554:
            failures.append((n, "add", address, code))
        removed = subprocess.run([script("rmvsmtple"), "*REJECT", f"INTNETADR('{address}')"],
                                 env=server.env, capture_output=True, text=True, timeout=60)
        assert removed.returncode == 0, removed.stderr
        if (code := relay_code(server, address)) != 250:
            failures.append((n, "remove", address, code))
    # CHGSMTPA too: ALWRLY(*NONE) refuses every relay from the next connection on.
    server.run("chgsmtpa", "ALWRLY(*NONE)")
    if server.rcpt_code("127.0.64.5", FAR) != 550:
        failures.append(("chgsmtpa", "ALWRLY(*NONE)"))
    server.run("chgsmtpa", "ALWRLY(*LIST)")
    if server.rcpt_code("127.0.64.5", FAR) != 250:
        failures.append(("chgsmtpa", "ALWRLY(*LIST)"))
    assert not failures, failures


def test_a_script_confirms_once_per_group_and_every_change_is_seen(server) -> None:
    lines = "".join(f"ADDSMTPLE *REJECT INTNETADR('127.0.66.{n}')\n" for n in range(1, 201))
    result = subprocess.run([script("qtsmtp"), "run", "-"], input=lines, env=server.env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert all(connect_code(server, f"127.0.66.{n}") == 554 for n in (1, 100, 200))


def test_a_job_that_does_not_answer_is_named_and_the_exit_status_is_3(server) -> None:
    job = next(j for j in server.jobs() if j["name"] == "QTSMTPSRVP")
    os.kill(job["pid"], signal.SIGSTOP)          # it cannot answer, nor be reaped
    try:
        start = time.monotonic()
        result = subprocess.run([script("addsmtple"), "*REJECT INTNETADR('127.0.67.1')"],
                                env=server.env, capture_output=True, text=True, timeout=60)
        took = time.monotonic() - start
    finally:
        os.kill(job["pid"], signal.SIGCONT)
    assert result.returncode == 3
    assert result.stdout == "TCP2660 SMTP list entry added.\n"
    assert result.stderr == (f"TCP2665 Change stored; server job {job['number']}/QTCP/QTSMTPSRVP "
                             "did not confirm it within 5 seconds.\n")
    assert 5 <= took < 15
    # The change is stored, and the job applies it once it runs again.
    eventually(lambda: connect_code(server, "127.0.67.1") == 554 and all(
        connect_code(server, "127.0.67.1") == 554 for _ in range(6)), "the stopped job caught up")


# --- crash safety -----------------------------------------------------------------------

def same_as_members(server: Server) -> None:
    """Every server job decides as a policy compiled from the members now: each probe
    is asked several times (the kernel spreads connections over the jobs)."""
    compiled = compile_policy(server.root, "localhost", ("127.0.0.1",))
    far = canonical_recipient(FAR)
    for source in PROBES:
        connect = compiled.policy.check_connect(source)
        expected = 554 if not connect.allowed else compiled.policy.check_recipient(source, far).code
        for _ in range(6):
            code = relay_code(server, source)
            assert code == expected, (source, code, expected)


def journal_records(server: Server) -> list[dict]:
    path = server.root / "QUSRSYS" / journal.JOURNAL
    return [json.loads(line) for line in path.read_bytes().splitlines()]


@pytest.mark.parametrize("command, first", [
    ("addsmtple", None),
    ("rmvsmtple", "addsmtple"),
])
def test_a_command_killed_between_journal_and_member_leaves_the_members_in_charge(
        server, command, first) -> None:
    address = "127.0.64.9"
    if first:
        server.run(first, f"*REJECT INTNETADR('{address}')")
    member = server.root / "QUSRSYS" / "QATMADRLST" / "REJECTCNN"
    before = member.read_bytes()
    killed = subprocess.run([script(command), f"*REJECT INTNETADR('{address}')"],
                            env={**server.env, journal.FAULT_ENV: "after-journal"},
                            capture_output=True, text=True, timeout=60)
    assert killed.returncode == -signal.SIGKILL
    assert member.read_bytes() == before                      # the member never changed
    record = journal_records(server)[-1]
    assert record["op"] == ("add" if command == "addsmtple" else "remove")
    # The jobs find the record that does not match (their 0.3 s look) and compile.
    for job in server.jobs():
        if job["name"] == "QTSMTPSRVP":
            eventually(lambda: " TCP3024 " in server.log_of(job),
                       f"job {job['number']} compiled from the members")
    same_as_members(server)
    # And the next command is applied as usual.
    server.run("addsmtple", "*REJECT INTNETADR('127.0.64.77')")
    assert connect_code(server, "127.0.64.77") == 554
    same_as_members(server)


def test_a_server_job_killed_while_it_applies_a_change_is_replaced_by_one_that_has_it(
        server) -> None:
    jobs_before = {j["number"] for j in server.jobs() if j["name"] == "QTSMTPSRVP"}
    Path(f"{server.faults}.job-apply").write_text("")         # the next job to apply dies
    result = subprocess.run([script("addsmtple"), "*REJECT INTNETADR('127.0.64.3')"],
                            env=server.env, capture_output=True, text=True, timeout=60)
    assert not Path(f"{server.faults}.job-apply").exists()     # it fired
    assert result.returncode == 0, result.stderr                # the dead job needs no word
    eventually(lambda: len({j["number"] for j in server.jobs() if j["name"] == "QTSMTPSRVP"
                            and server.alive(j)} - jobs_before) == 1
               and server.joblog_text("QTSMTPSRVD").count(" TCP3012 ") == 1,
               "the killed job was replaced")
    eventually(lambda: all(" TCP3030 " in server.log_of(j)
                           for j in server.jobs() if j["name"] == "QTSMTPSRVP"),
               "the new job listens")
    assert connect_code(server, "127.0.64.3") == 554
    same_as_members(server)
    server.run("rmvsmtple", "*REJECT INTNETADR('127.0.64.3')")
    assert server.rcpt_code("127.0.64.3", FAR) == 250
    same_as_members(server)


def test_a_job_that_cannot_apply_a_change_says_why_and_the_exit_status_is_3(server) -> None:
    accept = server.root / "QUSRSYS" / "QATMADRLST" / "ACCEPTRLY"
    with open(accept, "a") as f:
        f.write("not an address\n")                  # by hand: the member does not parse
    # A change to another member is applied all the same (CHGSMTPA's attributes too).
    server.run("chgsmtpa", "MAXRCPT(500)")
    # A change to the member that does not parse cannot be: the job keeps its last good
    # policy and says so.
    result = subprocess.run([script("addsmtple"), "*ACCEPT INTNETADR('127.0.64.9')"],
                            env=server.env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 3
    assert result.stdout == "TCP2660 SMTP list entry added.\n"
    lines = [line for line in result.stderr.splitlines() if not line.startswith("TCP2671 ")]
    numbers = sorted(j["number"] for j in server.jobs() if j["name"] == "QTSMTPSRVP")
    assert [line.split()[5] for line in lines] == [f"{n}/QTCP/QTSMTPSRVP" for n in numbers]
    assert all(line.startswith("TCP2666 Change stored; server job ") and
               "keeps its last good relay policy: TCP2670 Member ACCEPTRLY" in line
               for line in lines), lines
    # The last good policy stays in use: the accepted network still relays.
    assert relay_code(server, "127.0.64.5") == 250
    # Put right, the next change is applied, and confirmed.
    accept.write_text(accept.read_text().replace("not an address\n", ""))
    server.run("chgsmtpa", "MAXRCPT(600)")
    same_as_members(server)
