"""Exit programs the security tests register (PGM('exitsamples:...')), and an external
exit program speaking the line protocol of qtsmtp-exit(5) (run with --serve)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time


def reject_spam_senders(event):
    if event.command == "MAIL" and "@spam.example" in (event.sender or event.argument).lower():
        return ("REJECT", 550, "5.7.1 Sender refused by exit")
    return None


def accept_then_count(event):
    event.state["calls"] = event.state.get("calls", 0) + 1
    return "ACCEPT" if event.command == "MAIL" else "CONTINUE"


async def slow_async(event):
    if event.command == "MAIL":
        await asyncio.sleep(30)


def gated(event):
    """MAIL from a "slow" sender blocks (in the exit thread) until the file named by
    $QTSMTP_EXIT_GATE exists, at most 60 seconds: a slow exit the test controls."""
    if event.command == "MAIL" and "slow" in (event.sender or ""):
        gate = os.environ.get("QTSMTP_EXIT_GATE", "")
        if gate:
            with open(gate + ".entered", "a") as f:
                f.write(event.sender + "\n")
        deadline = time.monotonic() + 60
        while gate and not os.path.exists(gate) and time.monotonic() < deadline:
            time.sleep(0.02)
    return None


def raises(event):
    raise RuntimeError("exit program bug")


def noop(event):
    return None


async def noop_async(event):
    return None


def _record(version, event):
    """Append (version, session, command) to $QTSMTP_EXIT_TRACE: the replacement test
    reads which program version each session saw."""
    path = os.environ.get("QTSMTP_EXIT_TRACE")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps([version, event.session_id, event.command]) + "\n")
    return None


def version_one(event):
    return _record(1, event)


def version_two(event):
    return _record(2, event)


class _Kept:
    """Per-connection state that says when it is let go (the exit point's end of session)."""

    def __init__(self, session_id):
        self.session_id = session_id

    def __del__(self):
        _trace(["freed", self.session_id])


def _trace(record) -> None:
    path = os.environ.get("QTSMTP_EXIT_TRACE")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps(record) + "\n")


def sessions(event):
    """Every call as [program, session, command, reason], and state kept from CONNECT to
    DISCONNECT; at MAIL from refuse@..., a refusal (so a test sees the program acts)."""
    if event.command == "CONNECT":
        event.state["kept"] = _Kept(event.session_id)
    _trace(["sync", event.session_id, event.command, event.reason])
    if event.command == "MAIL" and (event.sender or "").startswith("refuse@"):
        return "REJECT 550 5.7.1 refused by the sessions exit"
    return None


async def sessions_async(event):
    if event.command == "CONNECT":
        event.state["kept"] = _Kept(event.session_id)
    _trace(["async", event.session_id, event.command, event.reason])
    return None


def local_policy(event):
    """Traces [local, session, command, client_address, submitter]; refuses at DATA a
    message that says "forbidden"."""
    _trace(["local", event.session_id, event.command, event.client_address, event.submitter])
    if event.command == "DATA" and b"forbidden" in (event.content or b""):
        return ("REJECT", 550, "5.7.1 forbidden words refused by exit")
    return None


def accept_and_stop(event):
    """ACCEPT at MAIL: then it must not be called for RCPT or DATA of that message."""
    _record("stop", event)
    return "ACCEPT" if event.command == "MAIL" else None


def where_run(event):
    """Traces [where, session, command, thread]: "MainThread" is the server job's event
    loop. MAIL from stall@... sleeps 30 s: a fast function that blocks one day."""
    _trace(["where", event.session_id, event.command, threading.current_thread().name])
    if event.command == "MAIL" and (event.sender or "").startswith("stall@"):
        time.sleep(30)
    return None


def says_it_may_block(event):
    """As fast as where_run, but it says it may block: it stays in its threads."""
    _trace(["may_block", event.session_id, event.command, threading.current_thread().name])
    return None


says_it_may_block.may_block = True


def slow_goodbye(event):
    """DISCONNECT takes a second (register with a shorter TIMEOUT)."""
    if event.command == "DISCONNECT":
        time.sleep(1)
    return None


async def slow_goodbye_async(event):
    if event.command == "DISCONNECT":
        await asyncio.sleep(1)
    return None


def serve() -> None:
    """The external program: request blocks in, one reply line per request out."""
    attrs = {}
    for line in sys.stdin:
        line = line.rstrip("\n")
        if line:
            key, _, value = line.partition("=")
            attrs[key] = value
            continue
        number = attrs.get("request_id", "0")
        _trace(["external", attrs.get("session_id"), attrs.get("command"),
                attrs.get("reason") or None])
        if attrs.get("command") == "MAIL" and "@spam.example" in attrs.get("sender", ""):
            answer = "REJECT 550 5.7.1 Sender refused by external exit"
        elif attrs.get("command") == "DATA" and "content" in attrs:
            answer = "ACCEPT"
        else:
            answer = "CONTINUE"
        sys.stdout.write(f"{number} {answer}\n")
        sys.stdout.flush()
        attrs = {}


if __name__ == "__main__" and "--serve" in sys.argv:
    serve()
