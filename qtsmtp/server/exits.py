"""Exit point QIBM_QTMS_SMTP_EXIT at run time: calling the registered exit programs.

The registration (qtsmtp.config.exitreg) is compiled into an ``ExitChain``: the programs,
in PGMNBR order, each ready to call. A session takes the chain that is current when it
connects (``ExitSource.current``) and keeps it to its end, so adding, removing or
replacing, holding or releasing a program affects new connections only, and no session
ever sees a mix of old and new programs (the z/OS STOPEXIT/STARTEXIT procedure: HLDEXITPGM
and RLSEXITPGM). Each session's programs are told when it starts (CONNECT) and ends
(DISCONNECT, with the reason), so they can keep per-connection state and let it go.

Each call gets an ``ExitEvent`` and returns a ``Verdict``: continue, reject (code and
text), or accept (stop calling this program for the rest of the message). A program that
takes longer than its time budget, raises, or cannot be reached gets its default action
and a line in the job log; the session waits at most the budget, other sessions not at
all (async callables run on the loop under a timeout, plain ones in their own threads,
or on the loop under a guard once they have shown they are fast (exitloop), external
programs and policy servers through non-blocking I/O).

The event and the verdict are in exitevents, the kinds of program in exitprograms; this
module is the chain, the job's current one (``ExitSource``) and a session's
(``SessionExits``).
"""

from __future__ import annotations

import asyncio
import itertools
import os
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from qtsmtp.config.exitreg import (SMTP_EXIT_POINT, ExitRegistration, RegistryError,
                                   exit_member, parse_registry)
from qtsmtp.store import settle

# What the rest of the server (and the tests) import from here.
from qtsmtp.server.exitevents import (  # noqa: F401
    ACCEPT, CLOSED, CONNECT, CONTINUE, CONTINUED, DISCONNECT, DROPPED, ENDING, LOCAL_CLIENT,
    QUIT, REJECT, TEMPORARY_REFUSAL, TIMEOUT, ExitEvent, ExitFailure, ThreadsExhausted,
    Verdict, verdict_of)
from qtsmtp.server.exitprograms import (  # noqa: F401
    ExternalProgram, PolicyServer, PythonProgram, event_attributes, postfix_request,
    postfix_verdict)


# --- a chain of programs, and the one a session holds -------------------------------------

@dataclass
class CompiledExit:
    registration: ExitRegistration
    program: object | None          # None: it could not be loaded (``problem`` says why)
    problem: str = ""


class ExitChain:
    """The released programs of QIBM_QTMS_SMTP_EXIT at one moment, in PGMNBR order."""

    def __init__(self, exits: list[CompiledExit], keys: tuple = (), generation: int = 0):
        self.exits = exits
        self.keys = keys
        self.generation = generation

    def __bool__(self) -> bool:
        return bool(self.exits)

    async def close(self) -> None:
        for item in self.exits:
            if item.program is not None:
                await item.program.close()


EMPTY_CHAIN = ExitChain([])


def compile_chain(registrations: list[ExitRegistration], keys: tuple = (),
                  generation: int = 0, log=None) -> ExitChain:
    """The chain of the released programs (a held one is not called, so not loaded);
    ``log``, the job log its Python programs say where they run in."""
    exits = []
    for registration in registrations:
        if registration.exit_point != SMTP_EXIT_POINT or registration.held:
            continue
        try:
            kind = registration.kind
            if kind == "python":
                program = PythonProgram(registration.program, registration.threads,
                                        _said_of(log, registration))
            elif kind == "external":
                program = ExternalProgram(registration.program)
            else:
                program = PolicyServer(registration.program)
            exits.append(CompiledExit(registration, program))
        except Exception as failure:     # an import error is the program's, not ours
            exits.append(CompiledExit(registration, None, f"{type(failure).__name__}: {failure}"))
    return ExitChain(exits, keys, generation)


def _said_of(log, registration: ExitRegistration):
    """A job-log line about this program: its name and number, then the message's data."""
    if log is None:
        return None
    return lambda message, *data: log.send(message, registration.program,
                                           registration.number, *data)


def changes(before: list[ExitRegistration], after: list[ExitRegistration]) -> list[tuple]:
    """The job-log messages that say what a new registration changes for new connections."""
    old = {r.number: r for r in before if r.exit_point == SMTP_EXIT_POINT}
    new = {r.number: r for r in after if r.exit_point == SMTP_EXIT_POINT}
    out = []
    for number, now in new.items():
        was = old.get(number)
        if was is None:
            out.append(("TCP6081" if now.held else "TCP6080", now.program, number))
            continue
        if not now.calls_same_program(was):
            out.append(("TCP6083", number, now.program))
        if now.held != was.held:
            out.append(("TCP6081" if now.held else "TCP6082", now.program, number))
    out += [("TCP6085", was.program, number) for number, was in old.items() if number not in new]
    return out


class _NotFinished(Exception):
    """The registration member is being written by hand: not read now."""


NOT_FINISHED = "not finished"       # ExitSource.reload: nothing done, look again later


class ExitSource:
    """The current chain of one server job, re-read when the registration member changes.
    Like the policy, an unreadable member leaves the last good chain in use. A replaced
    chain's programs are closed once no session holds it any more."""

    def __init__(self, root: Path, log=None, counts=None):
        self.member = exit_member(Path(root))
        self.log = log
        self.counts = counts        # callable(dict): publishes the job's exit counters
        self._failed_key = None
        self._generation = 0
        self.registrations: list[ExitRegistration] = []
        self.holders: dict[int, int] = {}      # id(chain) -> sessions holding it
        self.retired: list[ExitChain] = []
        self.without_thread = 0                # calls turned away: every thread overdue
        self._exhausted_said: set[tuple] = set()
        self._told_key = None                  # the state TCP2676 was said for
        self.current = self._compile()

    def _compile(self, finished_only: bool = False) -> ExitChain:
        """The chain of the registration as it is; with ``finished_only``, _NotFinished
        while a hand edit is under way (the member open for writing, or changed while
        read), before anything is compiled or said."""
        before = settle.fingerprint(self.member.path)
        key = self.member.stat_key()
        text = self.member.read_text() if key else ""
        if finished_only and (settle.fingerprint(self.member.path) != before
                              or self._being_written(key)):
            # A hand edit under way: a half-written registration would drop programs
            # (a check not made); the chain in use stays until the member is finished.
            raise _NotFinished()
        registrations = parse_registry(text)
        self._generation += 1
        chain = compile_chain(registrations, key, self._generation, self.log)
        if self.log is not None:
            told = changes(self.registrations, registrations)
            for message in told:
                self.log.send(*message)
            for item in chain.exits:
                number = item.registration.number
                if getattr(item.program, "new_code", False) \
                        and not any(m[0] in ("TCP6080", "TCP6083") and number in m for m in told):
                    # Registered again with the same record: its new code is the change.
                    self.log.send("TCP6083", number, item.registration.program)
                if item.program is None:
                    self.log.send("TCP6021", item.registration.program,
                                  item.registration.number, item.problem)
        self.registrations = registrations
        return chain

    def needs_reload(self) -> bool:
        key = self.member.stat_key()
        return key != self.current.keys and key != self._failed_key \
            and not self._being_written(key)

    def _being_written(self, key) -> bool:
        """Does a program (an editor, ``cat >``) still have the member open for writing?
        Said in the job log once for each state of the member (TCP2676)."""
        if not settle.writer_seen(self.member.path):
            return False
        if key != self._told_key and self.log is not None:
            self._told_key = key
            self.log.send("TCP2676", self.member.member, self.member.file, self.member.library,
                          "a program has it open for writing")
        return True

    def reload(self) -> str | None:
        """Compile again (imports: call off the event loop); an error text, None, or
        NOT_FINISHED (a hand edit under way: the chain in use stays, the next look
        tries again)."""
        key = self.member.stat_key()
        try:
            chain = self._compile(finished_only=True)
        except _NotFinished:
            return NOT_FINISHED
        except (RegistryError, OSError) as bad:
            self._failed_key = key
            return str(bad)
        self._failed_key = None
        old, self.current = self.current, chain
        self.retired.append(old)
        return None

    def hold(self) -> ExitChain:
        chain = self.current
        self.holders[id(chain)] = self.holders.get(id(chain), 0) + 1
        return chain

    def release(self, chain: ExitChain) -> None:
        left = self.holders.get(id(chain), 0) - 1
        if left > 0:
            self.holders[id(chain)] = left
            return
        self.holders.pop(id(chain), None)

    def threads_exhausted(self, registration: ExitRegistration) -> None:
        """A call turned away because every thread of its program is overdue: said once
        per job and program, counted always (WRKACTJOB option 5 shows the count)."""
        self.without_thread += 1
        said = (registration.number, registration.program)
        if said not in self._exhausted_said and self.log is not None:
            self._exhausted_said.add(said)
            self.log.send("TCP6086", registration.program, registration.number,
                          registration.threads, registration.default_action)
        if self.counts is not None:
            self.counts({"exit_calls_without_thread": self.without_thread})

    async def close_retired(self) -> None:
        """Close the programs of replaced chains no session holds any more."""
        keep = []
        for chain in self.retired:
            if id(chain) in self.holders:
                keep.append(chain)
            else:
                await chain.close()
        self.retired = keep

    async def close(self) -> None:
        await self.close_retired()
        await self.current.close()


class SessionExits:
    """One session's exits: the chain it started with, each program's state, and which
    programs said accept for the message in progress."""

    __slots__ = ("chain", "states", "accepted", "log", "where", "source")

    def __init__(self, chain: ExitChain, log, where: str, source: ExitSource | None = None):
        self.chain = chain
        self.states = [dict() for _ in chain.exits]
        self.accepted: set[int] = set()
        self.log = log
        self.where = where
        self.source = source

    def new_message(self) -> None:
        self.accepted.clear()

    async def check(self, event: ExitEvent) -> Verdict:
        """Call each program in order; the first reject ends the round."""
        for index, item in enumerate(self.chain.exits):
            if index in self.accepted:
                continue
            registration = item.registration
            event.state = self.states[index]
            event.program_data = registration.data
            verdict = await self._one(item, event)
            if verdict.action == ACCEPT:
                self.accepted.add(index)
            elif verdict.action == REJECT:
                self.log.send("TCP6022", self.where, registration.number, event.command,
                              verdict.reply())
                return verdict
        return CONTINUED

    def end(self, event: ExitEvent):
        """DISCONNECT to every program, whatever it answered before (its answer is not
        used); each program's state is let go once its call returns. Returns what is
        left to wait for (async functions, external programs, policy servers) as one
        awaitable, or None when nothing is (plain functions are only queued)."""
        waits = []
        for index, item in enumerate(self.chain.exits):
            if item.program is None:
                continue
            registration = item.registration
            told = replace(event, state=self.states[index], program_data=registration.data)
            late = partial(self._late, registration, event.command)
            wait = item.program.tell(told, registration.timeout_ms / 1000, late)
            if wait is not None:
                waits.append((wait, late))
        self.states = None
        self.accepted.clear()
        return _all_told(waits) if waits else None

    def _late(self, registration: ExitRegistration, command: str) -> None:
        self.log.send("TCP6084", self.where, registration.program, registration.number,
                      command, registration.timeout_ms, registration.default_action)

    async def _one(self, item: CompiledExit, event: ExitEvent) -> Verdict:
        registration = item.registration
        if item.program is None:
            return self._default(registration, event, f"not loaded: {item.problem}")
        try:
            return verdict_of(await item.program.call(event, registration.timeout_ms / 1000))
        except asyncio.TimeoutError:
            self._late(registration, event.command)
            return _default_verdict(registration)
        except ThreadsExhausted:
            if self.source is not None:
                self.source.threads_exhausted(registration)
            return _default_verdict(registration)
        except asyncio.CancelledError:
            raise
        except Exception as failure:
            return self._default(registration, event,
                                 f"{type(failure).__name__}: {failure}"[:300])

    def _default(self, registration: ExitRegistration, event: ExitEvent, why: str) -> Verdict:
        self.log.send("TCP6020", self.where, registration.program, registration.number,
                      event.command, why, registration.default_action)
        return _default_verdict(registration)


def _default_verdict(registration: ExitRegistration) -> Verdict:
    return TEMPORARY_REFUSAL if registration.default_action == "*REJECT" else CONTINUED


async def _all_told(waits: list) -> None:
    for wait, late in waits:
        try:
            await wait
        except asyncio.CancelledError:
            raise
        except asyncio.TimeoutError:
            late()              # said as any call past its budget; it changes nothing
        except Exception:       # a failed DISCONNECT changes nothing
            pass


def exit_event(session, envelope, command: str, argument: str, **more) -> ExitEvent:
    fields = {"helo": session.host_name, "sender": getattr(envelope, "mail_from", None),
              "recipients": tuple(getattr(envelope, "rcpt_tos", ()) or ()),
              # auth_data (a LoginPassword after AUTH): login_data is deprecated in
              # aiosmtpd and warns on every read.
              "authenticated_user": getattr(getattr(session, "auth_data", None), "login", None)
              if session.authenticated else None,
              "tls": session.ssl is not None, **more}
    event = ExitEvent(command, argument, session.peer[0], session.peer[1],
                      _session_id(session), **fields)
    if isinstance(event.authenticated_user, bytes):
        event.authenticated_user = event.authenticated_user.decode("utf-8", "replace")
    return event


def _session_id(session) -> str:
    if session.qtsmtp_id is None:
        session.qtsmtp_id = session_id("")
    return session.qtsmtp_id


def session_id(job_number: str, counter=itertools.count(1)) -> str:
    return f"{job_number}-{os.getpid()}-{next(counter)}"
