"""The kinds of exit program and how each is called: a Python function (plain, in its
threads or on the event loop once it has shown it is fast; or async), an external
program speaking the line protocol of qtsmtp-exit(5), and a Postfix policy server.
Each has ``call(event, timeout)`` (the answer, or an exception: TimeoutError past the
budget, ExitFailure, ThreadsExhausted), ``tell(event, timeout, late)`` for a call whose
answer is not used (DISCONNECT) and ``close()``.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import itertools
import shlex
from time import perf_counter

from qtsmtp.server.exitevents import (ACCEPTED, CONTINUED, LOCAL_CLIENT, REJECT, ExitEvent,
                                      ExitFailure, ThreadsExhausted, Verdict, checked_verdict)
from qtsmtp.server.exitloop import (FAST_SECONDS, PROBATION_CALLS, SLOW_SECONDS, LoopGuard,
                                    Overran, loop_guard)
from qtsmtp.server.exitthreads import ExitThreads, load_function

POLICY_CONNECTIONS = 8          # per policy server and server job
MAX_REPLY_LINE = 4096


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
        except Exception:
            raise
        except BaseException as failure:
            # sys.exit() or KeyboardInterrupt raised by the function: out of a callback
            # on the loop they would end the server job.
            raise ExitFailure(f"{type(failure).__name__}: {failure}"[:300]) from None
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
        return checked_verdict(Verdict(REJECT, 554, text or "5.7.1 Access denied"))
    if word in ("DEFER", "DEFER_IF_PERMIT", "DEFER_IF_REJECT"):
        return checked_verdict(Verdict(REJECT, 450, text or "4.7.1 Try again later"))
    if word.isdigit() and len(word) == 3:
        return checked_verdict(Verdict(REJECT, int(word), text))
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
