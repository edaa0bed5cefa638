"""A reader that goes away early (``qtsmtp commands | head -1``): the command ends as one
the shell's SIGPIPE killed, exit 141, with no traceback, and what it changed stays."""

import os
import subprocess

from support import member, script


def run_into_closed_pipe(qroot, *argv):
    reader, writer = os.pipe()
    os.close(reader)                # every write to the pipe now fails with EPIPE
    try:
        return subprocess.run([script(argv[0]), *argv[1:]], stdout=writer,
                              stderr=subprocess.PIPE, text=True, timeout=60,
                              env={**os.environ, "QTSMTP_ROOT": str(qroot)})
    finally:
        os.close(writer)


def test_a_listing_into_a_closed_pipe_ends_quietly(qroot):
    done = run_into_closed_pipe(qroot, "qtsmtp", "commands")
    assert (done.returncode, done.stderr) == (141, "")


def test_a_change_whose_message_cannot_be_written_is_still_made(qroot):
    done = run_into_closed_pipe(qroot, "addsmtple", "*ACCEPT INTNETADR('10.7.7.7')")
    assert (done.returncode, done.stderr) == (141, "")
    assert "10.7.7.7 255.255.255.255" in member(qroot, "QATMADRLST", "ACCEPTRLY").splitlines()


def test_the_option_form_and_the_umbrella_too(qroot):
    done = run_into_closed_pipe(qroot, "addsmtple", "--type", "accept", "--intnetadr", "10.7.7.8")
    assert (done.returncode, done.stderr) == (141, "")
    done = run_into_closed_pipe(qroot, "qtsmtp", "ADDSMTPLE *ACCEPT INTNETADR('10.7.7.9')")
    assert (done.returncode, done.stderr) == (141, "")
    assert {"10.7.7.8 255.255.255.255", "10.7.7.9 255.255.255.255"} <= set(
        member(qroot, "QATMADRLST", "ACCEPTRLY").splitlines())


def test_a_stream_closed_from_the_start_is_left_alone(qroot):
    # addsmtple ... >&- and 2>&-: Python starts with sys.stdout / sys.stderr None
    env = {**os.environ, "QTSMTP_ROOT": str(qroot)}
    done = subprocess.run(f"{script('addsmtple')} \"*ACCEPT INTNETADR('10.7.7.10')\" >&-",
                          shell=True, stderr=subprocess.PIPE, text=True, env=env, timeout=60)
    assert (done.returncode, done.stderr) == (0, "")
    done = subprocess.run(f"{script('addsmtple')} \"*ACCEPT INTNETADR('10.7.7.300')\" 2>&-",
                          shell=True, stdout=subprocess.PIPE, text=True, env=env, timeout=60)
    assert (done.returncode, done.stdout) == (1, "")
    assert "10.7.7.10 255.255.255.255" in member(qroot, "QATMADRLST", "ACCEPTRLY").splitlines()


def test_stdout_closed_from_the_start_and_stderr_a_broken_pipe(qroot):
    # an escape message into a pipe nobody reads, with no stdout to point at /dev/null
    reader, writer = os.pipe()
    os.close(reader)
    try:
        command = f"{script('addsmtple')} \"*ACCEPT INTNETADR('10.7.7.300')\""
        done = subprocess.run(f"{command} >&- 2>/dev/fd/{writer}",
                              shell=True, pass_fds=(writer,), timeout=60,
                              env={**os.environ, "QTSMTP_ROOT": str(qroot)})
    finally:
        os.close(writer)
    assert done.returncode == 141
