"""ADDEXITPGM, RMVEXITPGM, WRKEXITPGM, HLDEXITPGM, RLSEXITPGM: the SMTP exit point
registry (qtsmtp.config.exitreg).

A command that changed the registration returns once every running server job has read
it (jobs.notify, as ADDSMTPLE and CHGSMTPA do): the next connection sees the change.
"""

from __future__ import annotations

import sys
from dataclasses import replace

from qtsmtp.cl.binder import Bound
from qtsmtp.config.exitreg import (HELD, MAX_PROGRAMS, RELEASED, ExitRegistration, exit_member,
                                   point_of, program_kind, read_for_change, registry_text)
from qtsmtp.jobs.notify import confirm_change
from qtsmtp.messages import Message, escape
from qtsmtp.store.root import data_root


def addexitpgm(bound: Bound) -> list[Message]:
    point, fmt = point_of(bound)
    program = bound["PGM"].strip()
    if not program_kind(program):
        raise escape("TCP6011", program)
    data = bound["PGMDTA"] if bound["PGMDTA"] not in (None, "*NONE") else ""
    if any(c in data for c in "\t\r\n\0"):
        raise escape("TCP6012")
    root = data_root()
    member = exit_member(root)
    with member.locked():
        current = read_for_change(member)
        mine = [r for r in current if r.exit_point == point]
        numbers = {r.number for r in mine}
        wanted = bound["PGMNBR"]
        if wanted == "*LOW":
            number = next(n for n in range(1, MAX_PROGRAMS + 2) if n not in numbers)
        elif wanted == "*HIGH":
            number = max(numbers, default=0) + 1
        else:
            number = int(wanted)
        replacing = number in numbers
        if replacing and bound["REPLACE"] != "*YES":
            raise escape("TCP6013", number, point)
        if not replacing and len(mine) >= MAX_PROGRAMS:
            raise escape("TCP6014", point, MAX_PROGRAMS)
        # A held program stays held when replaced: the operator who held it releases it.
        held = any(r.number == number and r.held for r in mine)
        new = ExitRegistration(point, fmt, number, program, int(bound["TIMEOUT"]),
                               bound["DFTACN"], data, HELD if held else RELEASED,
                               int(bound["THREADS"]))
        kept = [r for r in current if not (r.exit_point == point and r.number == number)]
        member.replace(registry_text(kept + [new]))
    done = confirm_change(root) + [Message("TCP6015", program, number, point)]
    return done + [Message("TCP6094", number)] if held else done


def rmvexitpgm(bound: Bound) -> list[Message]:
    point, _ = point_of(bound)
    root = data_root()
    member = exit_member(root)
    wanted = bound["PGMNBR"]
    with member.locked():
        current = read_for_change(member)
        gone = _named(current, point, wanted)
        member.replace(registry_text([r for r in current if r not in gone]))
    return confirm_change(root) + [Message("TCP6017", len(gone), point)]


def _named(current: list[ExitRegistration], point: str, wanted: str) -> list[ExitRegistration]:
    """The registrations PGMNBR names (a number or *ALL); TCP6016 when there is none."""
    named = [r for r in current if r.exit_point == point
             and (wanted == "*ALL" or r.number == int(wanted))]
    if not named:
        raise escape("TCP6016", wanted, point)
    return named


def hldexitpgm(bound: Bound) -> list[Message]:
    return _set_status(bound, HELD, "TCP6092", "TCP6090")


def rlsexitpgm(bound: Bound) -> list[Message]:
    return _set_status(bound, RELEASED, "TCP6093", "TCP6091")


def _set_status(bound: Bound, status: str, unchanged: str, done: str) -> list[Message]:
    """Hold or release one program (or *ALL) for new connections, keeping its number,
    data and settings; sessions already connected keep calling what they started with."""
    point, _ = point_of(bound)
    root = data_root()
    member = exit_member(root)
    wanted = bound["PGMNBR"]
    with member.locked():
        current = read_for_change(member)
        changing = [r for r in _named(current, point, wanted) if r.status != status]
        if not changing and wanted != "*ALL":
            raise escape(unchanged, wanted, point)
        if changing:
            member.replace(registry_text(
                [replace(r, status=status) if r in changing else r for r in current]))
    return (confirm_change(root) if changing else []) + [Message(done, len(changing), point)]


def wrkexitpgm(bound: Bound) -> list[Message]:
    registrations = read_for_change(exit_member(data_root()))
    point = bound["EXITPNT"].upper()
    shown = [r for r in registrations if point == "*ALL" or r.exit_point == point]
    sys.stdout.write(listing(shown))
    return [Message("TCP6018", len(shown))]


def listing(registrations: list[ExitRegistration]) -> str:
    lines = ["                          Work with Exit Programs", "",
             f" {'Exit point':<20} {'Format':<8} {'Number':>6}  {'Status':<6} {'Kind':<8} "
             f"{'Timeout':>7}  {'Default':<9} {'Threads':>7}  Program"]
    for r in registrations:
        threads = str(r.threads) if r.kind == "python" else "-"
        lines.append(f" {r.exit_point:<20} {r.format:<8} {r.number:>6}  "
                     f"{'HLD' if r.held else 'RLS':<6} {r.kind:<8} {r.timeout_ms:>5}ms  "
                     f"{r.default_action:<9} {threads:>7}  {r.program}")
    if not registrations:
        lines.append(" (no exit programs)")
    return "\n".join(lines) + "\n"
