"""The exit registration of qtsmtp: which programs are called at exit point
QIBM_QTMS_SMTP_EXIT, in which order, with which time budget and default action.

Member QUSRSYS/QATMEXITPG(EXITPGM), one record per exit program, tab-separated:

    EXITPNT<TAB>FORMAT<TAB>PGMNBR<TAB>PGM<TAB>TIMEOUT<TAB>DFTACN<TAB>PGMDTA

ADDEXITPGM, RMVEXITPGM and WRKEXITPGM keep and show it (IBM i's registration facility
commands); the server reads it for each new connection (qtsmtp.server.exits), so a change
applies to new connections only, and a session keeps the programs it started with. The
exit point, its format SMTP0100 and its calling conventions are qtsmtp's own (IBM does
not document an SMTP exit point we could copy): see qtsmtp-exit(5).

What PGM may be (the kind is told by its form; nothing is imported or run here):

    package.module:function       a Python callable, called in the server job
    /path/to/program [args]       an external program speaking the line protocol
    policy:inet:HOST:PORT         a Postfix policy server (check_policy_service)
    policy:unix:/path/to/socket
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from qtsmtp.cl.binder import Bound
from qtsmtp.messages import Message, escape
from qtsmtp.store.member import MemberFile
from qtsmtp.store.root import SYSTEM_LIBRARY, data_root

EXIT_FILE, EXIT_MEMBER = "QATMEXITPG", "EXITPGM"
SMTP_EXIT_POINT, SMTP_EXIT_FORMAT = "QIBM_QTMS_SMTP_EXIT", "SMTP0100"
MAX_PROGRAMS = 16            # per exit point (the exit point provider's maximum)
DEFAULT_TIMEOUT_MS = 2000
_PYTHON = re.compile(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*\Z")
_POLICY = re.compile(r"policy:(inet:(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+):(\d{1,5})|unix:/\S+)\Z")


@dataclass(frozen=True)
class ExitRegistration:
    exit_point: str
    format: str
    number: int
    program: str
    timeout_ms: int
    default_action: str          # *CONTINUE or *REJECT
    data: str

    @property
    def kind(self) -> str:
        return program_kind(self.program)

    def record(self) -> str:
        return "\t".join([self.exit_point, self.format, str(self.number), self.program,
                          str(self.timeout_ms), self.default_action, self.data])


def program_kind(program: str) -> str:
    """'python', 'external' or 'policy'; '' when the text is none of them."""
    if program.startswith("policy:"):
        match = _POLICY.match(program)
        if match and (match.group(3) is None or 1 <= int(match.group(3)) <= 65535):
            return "policy"
        return ""
    if program.startswith("/"):
        return "external"
    return "python" if _PYTHON.match(program) else ""


def exit_member(root: Path) -> MemberFile:
    return MemberFile(root, SYSTEM_LIBRARY, EXIT_FILE, EXIT_MEMBER)


class RegistryError(ValueError):
    def __init__(self, line: int, reason: str):
        super().__init__(f"record {line}: {reason}")
        self.line, self.reason = line, reason


def parse_registry(text: str) -> list[ExitRegistration]:
    """Every registration, in PGMNBR order; RegistryError names the first bad record."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 7:
            raise RegistryError(number, f"{len(fields)} fields; 7 expected")
        point, fmt, pgmnbr, program, timeout, action, data = fields
        if not pgmnbr.isdigit() or not timeout.isdigit():
            raise RegistryError(number, "PGMNBR and TIMEOUT must be numbers")
        if action not in ("*CONTINUE", "*REJECT"):
            raise RegistryError(number, f"DFTACN {action} is not *CONTINUE or *REJECT")
        if not program_kind(program):
            raise RegistryError(number, f"program {program} is not module:function, "
                                        "/path or policy:...")
        out.append(ExitRegistration(point, fmt, int(pgmnbr), program, int(timeout), action, data))
    return sorted(out, key=lambda r: (r.exit_point, r.number))


def read_registry(root: Path) -> list[ExitRegistration]:
    return parse_registry(exit_member(root).read_text())


def _text(registrations: list[ExitRegistration]) -> str:
    header = "# Exit programs (ADDEXITPGM). Fields: EXITPNT FORMAT PGMNBR PGM TIMEOUT DFTACN PGMDTA\n"
    return header + "".join(r.record() + "\n" for r in
                            sorted(registrations, key=lambda r: (r.exit_point, r.number)))


def _read_for_change(member: MemberFile) -> list[ExitRegistration]:
    try:
        return parse_registry(member.read_text())
    except RegistryError as bad:
        raise escape("TCP2670", member.member, member.file, member.library, bad.line,
                     bad.reason) from None


def _point(bound: Bound) -> tuple[str, str]:
    point, fmt = bound["EXITPNT"].upper(), bound["FORMAT"].upper()
    if point != SMTP_EXIT_POINT or fmt != SMTP_EXIT_FORMAT:
        raise escape("TCP6010", point, fmt, f"{SMTP_EXIT_POINT} {SMTP_EXIT_FORMAT}")
    return point, fmt


# --- the commands ------------------------------------------------------------------------

def addexitpgm(bound: Bound) -> list[Message]:
    point, fmt = _point(bound)
    program = bound["PGM"].strip()
    if not program_kind(program):
        raise escape("TCP6011", program)
    data = bound["PGMDTA"] if bound["PGMDTA"] not in (None, "*NONE") else ""
    if any(c in data for c in "\t\r\n\0"):
        raise escape("TCP6012")
    member = exit_member(data_root())
    with member.locked():
        current = _read_for_change(member)
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
        member.replace(_text(kept + [new]))
    return [Message("TCP6015", program, number, point)]


def rmvexitpgm(bound: Bound) -> list[Message]:
    point, _ = _point(bound)
    member = exit_member(data_root())
    wanted = bound["PGMNBR"]
    with member.locked():
        current = _read_for_change(member)
        gone = [r for r in current if r.exit_point == point
                and (wanted == "*ALL" or r.number == int(wanted))]
        if not gone:
            raise escape("TCP6016", wanted, point)
        member.replace(_text([r for r in current if r not in gone]))
    return [Message("TCP6017", len(gone), point)]


def wrkexitpgm(bound: Bound) -> list[Message]:
    registrations = _read_for_change(exit_member(data_root()))
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
