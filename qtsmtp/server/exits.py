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
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import itertools
import os
import shlex
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from time import perf_counter

from qtsmtp.config.exitreg import (SMTP_EXIT_POINT, ExitRegistration, RegistryError,
                                   exit_member, parse_registry)
from qtsmtp.server.exitloop import (FAST_SECONDS, PROBATION_CALLS, SLOW_SECONDS, LoopGuard,
                                    Overran, loop_guard)
from qtsmtp.server.exitthreads import ExitThreads, load_function

CONTINUE, REJECT, ACCEPT = "CONTINUE", "REJECT", "ACCEPT"
CONNECT, DISCONNECT = "CONNECT", "DISCONNECT"
# Why a session ended (DISCONNECT's reason): the client said QUIT; it said nothing for
# CMDTIMEOUT (or DTATIMEOUT); it closed or dropped the connection without QUIT; the
# server is ending (ENDTCPSVR); the server closed it (a refusal, too many bad commands
# or failed authentications).
QUIT, TIMEOUT, DROPPED, ENDING, CLOSED = "QUIT", "TIMEOUT", "DROPPED", "ENDING", "CLOSED"
LOCAL_CLIENT = "*LOCAL"         # client_address of a local submission (SNDSMTPEMM, maildrop)
POLICY_CONNECTIONS = 8          # per policy server and server job
MAX_REPLY_LINE = 4096


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
        return _checked(value)
    if isinstance(value, tuple) and value:
        action = str(value[0]).upper()
        code = int(value[1]) if len(value) > 1 and value[1] is not None else 0
        text = str(value[2]) if len(value) > 2 else ""
        return _checked(Verdict(action, code, text))
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
                return _checked(Verdict(REJECT, int(parts[0]), parts[1] if len(parts) > 1 else ""))
            return _checked(Verdict(REJECT, 550, rest))
        if head.isdigit():
            return _checked(Verdict(REJECT, int(head), rest))
    raise ValueError(f"not a verdict: {value!r}"[:200])


def _checked(verdict: Verdict) -> Verdict:
    if verdict.action not in (CONTINUE, REJECT, ACCEPT):
        raise ValueError(f"unknown action {verdict.action!r}"[:200])
    if verdict.action != REJECT:
        return Verdict(verdict.action)
    code = verdict.code or 550
    if not 400 <= code <= 599:
        raise ValueError(f"reject code {code} is not 4xx or 5xx")
    text = " ".join(str(verdict.text).split())[:400] or (
        "5.7.1 Refused by exit program" if code >= 500 else "4.7.1 Try again later")
    return Verdict(REJECT, code, "".join(c if c.isprintable() else "?" for c in text))


# --- the kinds of exit program -------------------------------------------------------------

class ExitFailure(Exception):
    """A call that could not give a verdict (the default action applies)."""


class ThreadsExhausted(Exception):
    """Every thread of a plain function is held by a call past its budget."""


class PythonProgram:
    """package.module:function, loaded when the chain is compiled (exitthreads.load_function).
    An async function runs on the event loop. A plain one runs in its own threads
    (``threads``, ADDEXITPGM THREADS) until it has answered exitloop.PROBATION_CALLS
    calls in a row within exitloop.FAST_SECONDS each; from then on it is called on the
    event loop, under the process's LoopGuard, and goes back to its threads for good
    the first time a call there takes longer than exitloop.SLOW_SECONDS or is stopped
    (exitloop says why, and what a guard cannot stop). ``said(message id, *data)``
    puts those moves in the job log."""

    def __init__(self, spec: str, threads: int, said=None):
        self.function, self.new_code = load_function(spec)
        self.is_async = inspect.iscoroutinefunction(self.function)
        self.threads = None if self.is_async else ExitThreads(threads, f"exit-{spec}"[:40])
        self.said = said
        self.on_loop: LoopGuard | None = None       # set once it runs on the event loop
        # Still on probation: a function that says it may block never leaves its threads.
        self.on_probation = not self.is_async and not getattr(self.function, "may_block", False)
        self.fast_in_a_row = 0

    async def call(self, event: ExitEvent, timeout: float):
        if self.is_async:
            # asyncio.timeout, not wait_for: wait_for wraps the call in a task of its own
            # (Python 3.11), a third of what a no-op async exit cost a call.
            async with asyncio.timeout(timeout):
                return await self.function(event)
        if self.on_loop is not None:
            return self._on_loop(event, timeout)
        threads = self.threads
        if threads.exhausted:
            raise ThreadsExhausted()
        loop = asyncio.get_running_loop()
        future = loop.create_future()

        def deliver(result, error):        # in the program's thread
            loop.call_soon_threadsafe(_settle, future, result, error)

        call = threads.submit(self.function, event, deliver)
        expiry = loop.call_later(timeout, _expire, future)
        try:
            result = await future
        except asyncio.TimeoutError:
            threads.past_budget(call)
            raise
        finally:
            expiry.cancel()
        if self.on_probation:
            self._probation(call.seconds)
        return result

    def _probation(self, seconds: float) -> None:
        if seconds > FAST_SECONDS:
            self.fast_in_a_row = 0
            return
        self.fast_in_a_row += 1
        if self.fast_in_a_row >= PROBATION_CALLS:
            self.on_probation = False
            self.on_loop = loop_guard()        # None: the loop is not on the main thread
            if self.on_loop is not None and self.said is not None:
                self.said("TCP6088", PROBATION_CALLS, f"{FAST_SECONDS * 1000:g}")

    def _on_loop(self, event: ExitEvent, timeout: float):
        """The call on the event loop: its answer, or what a call past its budget or
        stopped raises, as a call in a thread would."""
        started = perf_counter()
        try:
            result = self.on_loop.run(self.function, event)
        except Overran:
            self._back_to_threads()
            raise ExitFailure(f"stopped after more than {SLOW_SECONDS * 1000:g} ms on the "
                              "event loop") from None
        took = perf_counter() - started
        if took > SLOW_SECONDS:
            self._back_to_threads()
        if took > timeout:
            raise asyncio.TimeoutError()
        return result

    def _back_to_threads(self) -> None:
        if self.on_loop is not None:
            self.on_loop = None
            if self.said is not None:
                self.said("TCP6087", f"{SLOW_SECONDS * 1000:g}")

    def tell(self, event: ExitEvent, timeout: float, late):
        """A call whose answer is not used (DISCONNECT): what to await (an async
        function), or None (a plain function's call is made on the loop, or queued to
        its threads and not waited for). ``late()`` says, on the loop, that it ran past
        its budget."""
        if self.is_async:
            return asyncio.wait_for(self.function(event), timeout)
        if self.on_loop is not None:
            try:
                self._on_loop(event, timeout)
            except asyncio.TimeoutError:
                late()
            except Exception:       # an error or a stop changes nothing
                pass
            return None
        if not self.threads.exhausted:
            call = self.threads.submit(self.function, event)
            asyncio.get_running_loop().call_later(timeout, self._told_late, call, late)
        return None

    def _told_late(self, call, late) -> None:
        if not call.finished:
            self.threads.past_budget(call)       # it holds a thread as any overdue call
            late()

    async def close(self) -> None:
        if self.threads is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.threads.close, 2.0)


def _settle(future: asyncio.Future, result, error) -> None:
    if not future.done():
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)


def _expire(future: asyncio.Future) -> None:
    if not future.done():
        future.set_exception(asyncio.TimeoutError())


def event_attributes(event: ExitEvent) -> list[tuple[str, str]]:
    """The attributes of the line protocol (qtsmtp-exit(5)), in order."""
    attrs = [("command", event.command), ("argument", event.argument),
             ("session_id", event.session_id), ("client_address", event.client_address),
             ("client_port", str(event.client_port)), ("helo_name", event.helo or ""),
             ("sender", event.sender or ""), ("recipient", event.recipient or ""),
             ("recipient_count", str(len(event.recipients))),
             ("sasl_username", event.authenticated_user or ""),
             ("tls", "yes" if event.tls else "no"), ("program_data", event.program_data)]
    if event.reason is not None:
        attrs.append(("reason", event.reason))
    if event.submitter is not None:
        attrs.append(("submitter", event.submitter))
    if event.content is not None:
        attrs.append(("size", str(len(event.content))))
        attrs.append(("content", base64.b64encode(event.content).decode()))
    return attrs


def _clean(value: str) -> str:
    """One line, whatever the client sent: CR, LF and NUL would split a request."""
    return value.replace("\r", "?").replace("\n", "?").replace("\0", "?")


class ExternalProgram:
    """/path/to/program [args]: one process per server job, started at its first call.

    Request: ``request_id=N`` then attribute=value lines, then a blank line. Reply: one
    line ``N CONTINUE`` / ``N ACCEPT`` / ``N REJECT code text``. Replies may come in any
    order; a reply that comes after its call's budget is dropped."""

    def __init__(self, command: str):
        self.argv = shlex.split(command)
        self.process: asyncio.subprocess.Process | None = None
        self.pending: dict[int, asyncio.Future] = {}
        self.ids = itertools.count(1)
        self.reader_task: asyncio.Task | None = None
        self.starting: asyncio.Lock | None = None

    async def _ensure_started(self) -> None:
        if self.process is not None and self.process.returncode is None:
            return
        if self.starting is None:
            self.starting = asyncio.Lock()
        async with self.starting:
            if self.process is not None and self.process.returncode is None:
                return
            self.process = await asyncio.create_subprocess_exec(
                *self.argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=None, limit=MAX_REPLY_LINE * 4)
            self.reader_task = asyncio.create_task(self._read_replies(self.process))

    async def _read_replies(self, process) -> None:
        try:
            while True:
                line = await process.stdout.readline()
                if not line:
                    break
                number, _, answer = line.decode("utf-8", "replace").strip().partition(" ")
                future = self.pending.pop(int(number), None) if number.isdigit() else None
                if future is not None and not future.done():
                    future.set_result(answer)
        except (ValueError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            for future in self.pending.values():
                if not future.done():
                    future.set_exception(ExitFailure("the exit program ended"))
            self.pending.clear()
            if process.returncode is None:
                process.kill()

    async def call(self, event: ExitEvent, timeout: float):
        async def ask():
            await self._ensure_started()
            number = next(self.ids)
            future = asyncio.get_running_loop().create_future()
            self.pending[number] = future
            lines = [f"request_id={number}"] + [f"{k}={_clean(v)}" for k, v in event_attributes(event)]
            try:
                self.process.stdin.write(("\n".join(lines) + "\n\n").encode("utf-8", "surrogateescape"))
                await self.process.stdin.drain()
                return await future
            finally:
                self.pending.pop(number, None)
        try:
            return await asyncio.wait_for(ask(), timeout)
        except (BrokenPipeError, ConnectionError) as broken:
            raise ExitFailure(f"the exit program cannot be reached: {broken}") from None

    def tell(self, event: ExitEvent, timeout: float, late):
        return self.call(event, timeout)

    async def close(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.stdin.close()
            try:
                await asyncio.wait_for(self.process.wait(), 2)
            except asyncio.TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self.reader_task is not None:
            self.reader_task.cancel()


# Postfix SMTPD_POLICY_README: the request and the actions of access(5).
# CONNECT is Postfix's own state; DISCONNECT (with reason=) is qtsmtp's, and its answer
# is not used.
POSTFIX_STATES = {"CONNECT": "CONNECT", "HELO": "HELO", "EHLO": "EHLO", "MAIL": "MAIL",
                  "RCPT": "RCPT", "DATA": "END-OF-MESSAGE", "DISCONNECT": "DISCONNECT"}


def postfix_request(event: ExitEvent) -> bytes:
    local = event.client_address == LOCAL_CLIENT
    attrs = {
        "request": "smtpd_access_policy",
        "protocol_state": POSTFIX_STATES.get(event.command, event.command),
        "protocol_name": "ESMTP" if event.command != "HELO" else "SMTP",
        "helo_name": event.helo or (event.argument if event.command in ("HELO", "EHLO") else ""),
        "queue_id": "", "sender": event.sender or "", "recipient": event.recipient or "",
        "recipient_count": str(len(event.recipients)),
        # A local submission comes from this host, as Postfix's sendmail(1) mail does;
        # policy servers parse client_address as an IP address.
        "client_address": "127.0.0.1" if local else event.client_address,
        "client_name": "localhost" if local else "unknown",
        "reverse_client_name": "localhost" if local else "unknown", "instance": event.session_id,
        "sasl_method": "", "sasl_username": event.authenticated_user or "", "sasl_sender": "",
        "size": str(len(event.content)) if event.content is not None else "0",
        "encryption_protocol": "TLS" if event.tls else "",
        "server_port": "", "policy_context": event.program_data,
    }
    if event.reason is not None:
        attrs["reason"] = event.reason
    if local:
        attrs["local_submission"] = "yes"
        attrs["submitter"] = event.submitter or ""
    return ("".join(f"{k}={_clean(v)}\n" for k, v in attrs.items()) + "\n").encode(
        "utf-8", "surrogateescape")


def postfix_verdict(action: str) -> Verdict:
    """access(5) actions: OK accepts, DUNNO continues, REJECT/DEFER/4NN/5NN refuse; the
    actions that would change the message or its route cannot, and continue."""
    word, _, text = action.strip().partition(" ")
    word = word.upper()
    if word == "OK":
        return ACCEPTED
    if word in ("DUNNO", "PREPEND", "WARN", "INFO", "FILTER", "HOLD", "REDIRECT",
                "BCC", "DISCARD") or not word:
        return CONTINUED
    if word == "REJECT":
        return _checked(Verdict(REJECT, 554, text or "5.7.1 Access denied"))
    if word in ("DEFER", "DEFER_IF_PERMIT", "DEFER_IF_REJECT"):
        return _checked(Verdict(REJECT, 450, text or "4.7.1 Try again later"))
    if word.isdigit() and len(word) == 3:
        return _checked(Verdict(REJECT, int(word), text))
    raise ValueError(f"policy server action {action!r} not understood"[:200])


class PolicyServer:
    """policy:inet:host:port or policy:unix:/path: a Postfix policy delegation client.
    Connections are kept and reused (the protocol allows many requests per connection);
    one that times out is closed, as its late answer would be taken for the next one."""

    def __init__(self, spec: str):
        target = spec.removeprefix("policy:")
        if target.startswith("unix:"):
            self.path, self.host, self.port = target[5:], None, None
        else:
            host, _, port = target[5:].rpartition(":")
            self.path, self.host, self.port = None, host.strip("[]"), int(port)
        self.idle: list[tuple] = []
        self.slots: asyncio.Semaphore | None = None

    async def _connect(self):
        if self.path is not None:
            return await asyncio.open_unix_connection(self.path, limit=MAX_REPLY_LINE * 4)
        return await asyncio.open_connection(self.host, self.port, limit=MAX_REPLY_LINE * 4)

    async def call(self, event: ExitEvent, timeout: float):
        if self.slots is None:
            self.slots = asyncio.Semaphore(POLICY_CONNECTIONS)
        request = postfix_request(event)

        async def ask():
            async with self.slots:
                reader, writer = self.idle.pop() if self.idle else await self._connect()
                try:
                    writer.write(request)
                    await writer.drain()
                    action = None
                    while True:
                        line = await reader.readline()
                        if not line:
                            raise ExitFailure("the policy server closed the connection")
                        text = line.decode("utf-8", "replace").rstrip("\r\n")
                        if not text:
                            break
                        if text.lower().startswith("action="):
                            action = text[7:]
                except BaseException:
                    writer.close()
                    raise
                self.idle.append((reader, writer))
                if action is None:
                    raise ExitFailure("the policy server sent no action")
                return postfix_verdict(action)
        try:
            return await asyncio.wait_for(ask(), timeout)
        except OSError as failure:
            raise ExitFailure(f"policy server not reached: {failure.strerror or failure}") from None

    def tell(self, event: ExitEvent, timeout: float, late):
        return self.call(event, timeout)

    async def close(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


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
        self.current = self._compile()

    def _compile(self) -> ExitChain:
        key = self.member.stat_key()
        registrations = parse_registry(self.member.read_text()) if key else []
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
        return key != self.current.keys and key != self._failed_key

    def reload(self) -> str | None:
        """Compile again (imports: call off the event loop); an error text, or None."""
        key = self.member.stat_key()
        try:
            chain = self._compile()
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
