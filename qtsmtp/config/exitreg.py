"""The exit registration of qtsmtp: which programs are called at exit point
QIBM_QTMS_SMTP_EXIT, in which order, with which time budget and default action.

Member QUSRSYS/QATMEXITPG(EXITPGM), one record per exit program, tab-separated:

    EXITPNT<TAB>FORMAT<TAB>PGMNBR<TAB>PGM<TAB>TIMEOUT<TAB>DFTACN<TAB>PGMDTA<TAB>STATUS<TAB>THREADS

(STATUS and THREADS came later: a record of the first seven fields is released, with the
default thread budget.) ADDEXITPGM, RMVEXITPGM and WRKEXITPGM keep and show it (IBM i's
registration facility commands), HLDEXITPGM and RLSEXITPGM set STATUS; the server reads it for each new connection (qtsmtp.server.exits), so a change
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
from dataclasses import dataclass, replace
from pathlib import Path

from qtsmtp.cl.binder import Bound
from qtsmtp.cl.charset import is_ascii_digits
from qtsmtp.messages import escape
from qtsmtp.store.member import MemberFile
from qtsmtp.store.root import SYSTEM_LIBRARY

EXIT_FILE, EXIT_MEMBER = "QATMEXITPG", "EXITPGM"
SMTP_EXIT_POINT, SMTP_EXIT_FORMAT = "QIBM_QTMS_SMTP_EXIT", "SMTP0100"
MAX_PROGRAMS = 16            # per exit point (the exit point provider's maximum)
DEFAULT_TIMEOUT_MS = 2000
MAX_THREADS = 256
DEFAULT_THREADS = 16         # a plain Python function's threads per server job
HELD, RELEASED = "*HELD", "*RELEASED"
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
    status: str = RELEASED       # *HELD: registered, not called (HLDEXITPGM)
    threads: int = DEFAULT_THREADS

    @property
    def held(self) -> bool:
        return self.status == HELD

    @property
    def kind(self) -> str:
        return program_kind(self.program)

    def record(self) -> str:
        return "\t".join([self.exit_point, self.format, str(self.number), self.program,
                          str(self.timeout_ms), self.default_action, self.data,
                          self.status, str(self.threads)])

    def calls_same_program(self, other: "ExitRegistration") -> bool:
        """The same call made the same way: only STATUS differs (a hold or release)."""
        return replace(self, status=other.status) == other


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
        if len(fields) == 7:
            fields += [RELEASED, str(DEFAULT_THREADS)]
        if len(fields) != 9:
            raise RegistryError(number, f"{len(fields)} fields; 9 (or the first 7) expected")
        point, fmt, pgmnbr, program, timeout, action, data, status, threads = fields
        if not all(map(is_ascii_digits, (pgmnbr, timeout, threads))):
            raise RegistryError(number, "PGMNBR, TIMEOUT and THREADS must be numbers")
        if not 1 <= int(threads) <= MAX_THREADS:
            raise RegistryError(number, f"THREADS {threads} is not 1 to {MAX_THREADS}")
        if status not in (HELD, RELEASED):
            raise RegistryError(number, f"STATUS {status} is not {RELEASED} or {HELD}")
        if action not in ("*CONTINUE", "*REJECT"):
            raise RegistryError(number, f"DFTACN {action} is not *CONTINUE or *REJECT")
        if not program_kind(program):
            raise RegistryError(number, f"program {program} is not module:function, "
                                        "/path or policy:...")
        out.append(ExitRegistration(point, fmt, int(pgmnbr), program, int(timeout), action,
                                    data, status, int(threads)))
    return sorted(out, key=lambda r: (r.exit_point, r.number))


def read_registry(root: Path) -> list[ExitRegistration]:
    return parse_registry(exit_member(root).read_text())


def registry_text(registrations: list[ExitRegistration]) -> str:
    header = ("# Exit programs (ADDEXITPGM). Fields: EXITPNT FORMAT PGMNBR PGM TIMEOUT DFTACN "
              "PGMDTA STATUS THREADS\n")
    return header + "".join(r.record() + "\n" for r in
                            sorted(registrations, key=lambda r: (r.exit_point, r.number)))


def read_for_change(member: MemberFile) -> list[ExitRegistration]:
    try:
        return parse_registry(member.read_text())
    except RegistryError as bad:
        raise escape("TCP2670", member.member, member.file, member.library, bad.line,
                     bad.reason) from None


def point_of(bound: Bound) -> tuple[str, str]:
    point, fmt = bound["EXITPNT"].upper(), bound["FORMAT"].upper()
    if point != SMTP_EXIT_POINT or fmt != SMTP_EXIT_FORMAT:
        raise escape("TCP6010", point, fmt, f"{SMTP_EXIT_POINT} {SMTP_EXIT_FORMAT}")
    return point, fmt
