"""What an exit program is told and what it answers (exit point QIBM_QTMS_SMTP_EXIT,
format SMTP0100): the ``ExitEvent`` of one SMTP command or session start and end, the
``Verdict`` (continue, reject with code and text, or accept), the forms a program may
answer in, and the failures that give a call its default action. Used by the kinds of
program (exitprograms) and the chain a session calls them through (exits).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from qtsmtp.messages import question_marked

CONTINUE, REJECT, ACCEPT = "CONTINUE", "REJECT", "ACCEPT"
CONNECT, DISCONNECT = "CONNECT", "DISCONNECT"
# Why a session ended (DISCONNECT's reason): the client said QUIT; it said nothing for
# CMDTIMEOUT (or DTATIMEOUT); it closed or dropped the connection without QUIT; the
# server is ending (ENDTCPSVR); the server closed it (a refusal, too many bad commands
# or failed authentications).
QUIT, TIMEOUT, DROPPED, ENDING, CLOSED = "QUIT", "TIMEOUT", "DROPPED", "ENDING", "CLOSED"
LOCAL_CLIENT = "*LOCAL"         # client_address of a local submission (SNDSMTPEMM, maildrop)


@dataclass(frozen=True)
class Verdict:
    action: str                 # CONTINUE, REJECT or ACCEPT
    code: int = 0
    text: str = ""

    def reply(self) -> str:
        return f"{self.code} {self.text}".rstrip()


CONTINUED = Verdict(CONTINUE)
ACCEPTED = Verdict(ACCEPT)
TEMPORARY_REFUSAL = Verdict(REJECT, 451, "4.7.1 Try again later")


@dataclass
class ExitEvent:
    """What an exit program is told about one SMTP command (format SMTP0100)."""
    command: str                # CONNECT, HELO, EHLO, MAIL, RCPT, DATA or DISCONNECT
    argument: str               # the command's argument as the client sent it
    client_address: str         # the real client (after a PROXY header)
    client_port: int
    session_id: str
    helo: str | None = None
    sender: str | None = None
    recipients: tuple = ()
    recipient: str | None = None
    authenticated_user: str | None = None
    tls: bool = False
    content: bytes | None = None     # DATA: headers and body, as received
    program_data: str = ""
    state: dict = field(default_factory=dict)   # this program's, for this connection
    reason: str | None = None        # DISCONNECT: QUIT, TIMEOUT, DROPPED, ENDING or CLOSED
    submitter: str | None = None     # a local submission: the user who submitted it


def verdict_of(value) -> Verdict:
    """What a program returned, as a Verdict. Accepted forms: None, "CONTINUE", "ACCEPT",
    "REJECT [code] [text]", "550 text", a Verdict, or a tuple (action, code, text)."""
    if value is None:
        return CONTINUED
    if isinstance(value, Verdict):
        return checked_verdict(value)
    if isinstance(value, tuple) and value:
        action = str(value[0]).upper()
        code = int(value[1]) if len(value) > 1 and value[1] is not None else 0
        text = str(value[2]) if len(value) > 2 else ""
        return checked_verdict(Verdict(action, code, text))
    if isinstance(value, str):
        words = value.strip().split(None, 1)
        if not words:
            return CONTINUED
        head = words[0].upper()
        rest = words[1] if len(words) > 1 else ""
        if head in (CONTINUE, ACCEPT):
            return Verdict(head)
        if head == REJECT:
            parts = rest.split(None, 1)
            if parts and parts[0].isdigit():
                return checked_verdict(Verdict(REJECT, int(parts[0]), parts[1] if len(parts) > 1 else ""))
            return checked_verdict(Verdict(REJECT, 550, rest))
        if head.isdigit():
            return checked_verdict(Verdict(REJECT, int(head), rest))
    raise ValueError(f"not a verdict: {value!r}"[:200])


def checked_verdict(verdict: Verdict) -> Verdict:
    """The verdict as it is used: a known action; a reject with a 4xx or 5xx code and one
    printable line of text (a default text when there is none)."""
    if verdict.action not in (CONTINUE, REJECT, ACCEPT):
        raise ValueError(f"unknown action {verdict.action!r}"[:200])
    if verdict.action != REJECT:
        return Verdict(verdict.action)
    code = verdict.code or 550
    if not 400 <= code <= 599:
        raise ValueError(f"reject code {code} is not 4xx or 5xx")
    text = " ".join(str(verdict.text).split())[:400] or (
        "5.7.1 Refused by exit program" if code >= 500 else "4.7.1 Try again later")
    return Verdict(REJECT, code, question_marked(text))


class ExitFailure(Exception):
    """A call that could not give a verdict (the default action applies)."""


class ThreadsExhausted(Exception):
    """Every thread of a plain function is held by a call past its budget."""
