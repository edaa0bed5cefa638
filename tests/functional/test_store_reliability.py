"""The store under real faults: parallel writers, and writers killed with SIGKILL."""

import os
import random
import select
import signal
import subprocess
import time

from qtsmtp.config import listtypes as lt
from qtsmtp.config.lists import read_entries
from support import script

ACCEPT = lt.LIST_TYPES["*ACCEPT"]


def test_four_processes_of_250_addsmtple_end_with_1000_entries(qroot):
    """Each process runs the real console script 250 times, all four at once."""
    loops = []
    for worker in range(4):
        commands = "\n".join(f"{script('addsmtple')} \"*ACCEPT INTNETADR('10.{worker}.{n // 250}.{n % 250}')\""
                             f" >/dev/null || echo FAILED {n}" for n in range(250))
        loops.append(subprocess.Popen(["bash", "-c", commands], stdout=subprocess.PIPE, text=True,
                                      env={**os.environ, "QTSMTP_ROOT": str(qroot)}))
    outputs = [p.communicate(timeout=300)[0] for p in loops]
    assert all(p.returncode == 0 for p in loops)
    assert "FAILED" not in "".join(outputs)
    entries = read_entries(qroot, ACCEPT)
    assert len(entries) == 1000
    assert len({e.identity for e in entries}) == 1000


def test_four_scripts_in_parallel_share_one_member(cl, qroot, tmp_path):
    """Long-running writers keep an index of the member: it must notice the others' appends."""
    procs = []
    for worker in range(4):
        path = tmp_path / f"w{worker}.clp"
        # Every worker also tries the other workers' first entries: exactly one wins each.
        lines = [f"ADDSMTPLE *ACCEPT INTNETADR('10.{worker}.1.{n}')" for n in range(250)]
        lines += [f"ADDSMTPLE *ACCEPT INTNETADR('10.9.9.{n}')\nMONMSG TCP2650" for n in range(50)]
        path.write_text("\n".join(lines) + "\n")
        procs.append(subprocess.Popen([script("qtsmtp"), "run", str(path)], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True,
                                      env={**os.environ, "QTSMTP_ROOT": str(qroot)}))
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], results
    added = sum(out.count("TCP2660") for out, _ in results)
    duplicates = sum(err.count("TCP2650") for _, err in results)
    assert (added, duplicates) == (1050, 150)
    entries = read_entries(qroot, ACCEPT)
    assert len(entries) == len({e.identity for e in entries}) == 1050


def test_writer_killed_at_random_moments_never_tears_or_loses_a_reported_entry(qroot):
    """200 SIGKILLs during adds and removes: the member always parses, every change whose
    completion message reached us is durable, and what ran is a prefix of the script."""
    rng = random.Random(2505)
    env = {**os.environ, "QTSMTP_ROOT": str(qroot), "PYTHONUNBUFFERED": "1"}
    reported_added: set[str] = set()
    reported_removed: set[str] = set()
    killed_mid_script = 0
    for round_ in range(200):
        adds = [f"10.{round_ % 250}.{k}.1" for k in range(40)]
        # Remove some earlier entries too: removal rewrites the whole member (temp + rename).
        removes = rng.sample(sorted(reported_added - reported_removed),
                             k=min(5, len(reported_added - reported_removed)))
        commands = [("add", a) for a in adds] + [("rmv", r) for r in removes]
        rng.shuffle(commands)
        # The script says at once that it is under way: a first command that fails (and is
        # monitored) is reported before the rest run. Its first completion message would
        # come too late: the changes are reported in groups, and 45 of them take less
        # than a group's time now that a command does not parse the member.
        source = "RMVSMTPLE *ACCEPT INTNETADR('192.0.2.1')\nMONMSG TCP2651\n" + "".join(
            f"{'ADDSMTPLE' if op == 'add' else 'RMVSMTPLE'} *ACCEPT INTNETADR('{a}')\n"
            for op, a in commands)
        proc = subprocess.Popen([script("qtsmtp"), "run", "-"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        proc.stdin.write(source.encode())
        proc.stdin.close()
        # Kill at a random moment after the writer is under way, however long its start-up
        # takes on a loaded machine: wait (bounded) for its first report, then a little more.
        first = b""
        # (poll, not select: a suite that opened many files may hand us a pipe above 1023)
        waiting = select.poll()
        for pipe in (proc.stdout, proc.stderr):
            waiting.register(pipe, select.POLLIN)
        ready = {fd for fd, _ in waiting.poll(30_000)}
        if proc.stdout.fileno() in ready:
            first = os.read(proc.stdout.fileno(), 65536)
        time.sleep(rng.uniform(0.0, 0.03))
        proc.send_signal(signal.SIGKILL)    # each round is bounded: the writer dies here
        out = (first + proc.stdout.read()).decode()
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()
        # A message is printed only after its change is durable, so every reported command
        # ran; and what ran is a prefix of the script (group commit may have run a few more).
        done = out.count("TCP2660") + out.count("TCP2661")
        present = {e.address for e in read_entries(qroot, ACCEPT)}   # must parse
        ran = [(address in present) == (op == "add") for op, address in commands]
        executed = ran.index(False) if False in ran else len(ran)
        assert not any(ran[executed:]), f"round {round_}: not a prefix: {ran}"
        assert executed >= done, f"round {round_}: {done} reported, {executed} ran"
        killed_mid_script += 0 < executed < len(commands)
        for op, address in commands[:executed]:
            (reported_added if op == "add" else reported_removed).add(address)

        assert reported_added - reported_removed <= present, f"round {round_}: lost entries"
        assert not (reported_removed & present), f"round {round_}: removed entries came back"
    assert killed_mid_script >= 50, killed_mid_script   # the kills really landed mid-write
