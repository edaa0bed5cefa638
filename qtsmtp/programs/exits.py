"""ADDEXITPGM, RMVEXITPGM, WRKEXITPGM: the SMTP exit point registry (qtsmtp.config.exitreg).
"""

from __future__ import annotations

import sys

from qtsmtp.cl.binder import Bound
from qtsmtp.config.exitreg import (MAX_PROGRAMS, ExitRegistration, exit_member, point_of, program_kind,
                                   read_for_change, registry_text)
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
    member = exit_member(data_root())
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
        new = ExitRegistration(point, fmt, number, program, int(bound["TIMEOUT"]),
                               bound["DFTACN"], data)
        kept = [r for r in current if not (r.exit_point == point and r.number == number)]
        member.replace(registry_text(kept + [new]))
    return [Message("TCP6015", program, number, point)]


def rmvexitpgm(bound: Bound) -> list[Message]:
    point, _ = point_of(bound)
    member = exit_member(data_root())
    wanted = bound["PGMNBR"]
    with member.locked():
        current = read_for_change(member)
        gone = [r for r in current if r.exit_point == point
                and (wanted == "*ALL" or r.number == int(wanted))]
        if not gone:
            raise escape("TCP6016", wanted, point)
        member.replace(registry_text([r for r in current if r not in gone]))
    return [Message("TCP6017", len(gone), point)]


def wrkexitpgm(bound: Bound) -> list[Message]:
    registrations = read_for_change(exit_member(data_root()))
    point = bound["EXITPNT"].upper()
    shown = [r for r in registrations if point == "*ALL" or r.exit_point == point]
    sys.stdout.write(listing(shown))
    return [Message("TCP6018", len(shown))]


def listing(registrations: list[ExitRegistration]) -> str:
    lines = ["                          Work with Exit Programs", "",
             f" {'Exit point':<20} {'Format':<8} {'Number':>6}  {'Kind':<8} {'Timeout':>7}  "
             f"{'Default':<9}  Program"]
    for r in registrations:
        lines.append(f" {r.exit_point:<20} {r.format:<8} {r.number:>6}  {r.kind:<8} "
                     f"{r.timeout_ms:>5}ms  {r.default_action:<9}  {r.program}")
    if not registrations:
        lines.append(" (no exit programs)")
    return "\n".join(lines) + "\n"
