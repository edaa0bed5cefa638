"""A session is freed when its connection ends, by reference counting alone.

Each connection used to leave its whole session (protocol, streams, task, envelope,
some 50 objects) in reference cycles, which only the cycle collector frees: with a
connection per message, its passes cost the server job about 3 % of its CPU.
RelaySMTP._let_go lets go of what refers back to the session once the connection is
lost and its command loop has ended. Here, with the cycle collector off, over real TCP
connections on asyncio's loop and on uvloop (the server job's): the session object is
gone after a QUIT, after a client that goes away without one, and after the session's
time is up; and a session still running is not touched.
"""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest
import uvloop

from qtsmtp.server.protocol import RelaySMTP, SessionRegistry

OPTIONS = {"hostname": "relay.example", "ident": "ESMTP qtsmtp", "data_size_limit": 1024}


class _Log:
    def __init__(self) -> None:
        self.sent: list[tuple] = []

    def send(self, *message) -> None:
        self.sent.append(message)


class Handler:
    def __init__(self) -> None:
        self.log = _Log()

    def session_started(self, session) -> None:
        pass

    def session_ended(self, session) -> None:
        pass

    async def handle_DATA(self, server, session, envelope):
        return "250 OK"


RUNNERS = {"asyncio": asyncio.run, "uvloop": uvloop.run}


@pytest.fixture
def no_cycle_collector():
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def _session(end: str, timeout: float = 300) -> tuple[list, list]:
    """One session ended as ``end`` says ("quit", "client goes away", "timeout");
    returns weak references to every session object made, and what the client read."""
    loop = asyncio.get_running_loop()
    registry, made = SessionRegistry(), []

    def factory():
        protocol = RelaySMTP(Handler(), registry, 10, connection_checks=(), loop=loop,
                             timeout=timeout, **OPTIONS)
        made.append(weakref.ref(protocol))
        return protocol

    server = await loop.create_server(factory, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [await reader.readline()]
    writer.write(b"HELO client.example\r\n")
    lines.append(await reader.readline())
    if end == "quit":
        writer.write(b"QUIT\r\n")
        lines.append(await reader.readline())
    elif end == "timeout":
        lines.append(await reader.readline())            # the 421, when time is up
    if end != "client goes away":
        lines.append(await reader.read())                 # the server closes
    writer.close()
    await writer.wait_closed()
    for _ in range(500):                                  # until the server has seen it
        if not registry.sessions and all(ref() is None for ref in made):
            break
        await asyncio.sleep(0.01)
    server.close()
    await server.wait_closed()
    return made, lines


@pytest.mark.parametrize("loop", RUNNERS)
@pytest.mark.parametrize("end", ["quit", "client goes away"])
def test_the_session_is_freed_without_the_cycle_collector(loop, end, no_cycle_collector):
    made, lines = RUNNERS[loop](_session(end))
    assert lines[0].startswith(b"220 ") and lines[1].startswith(b"250 ")
    if end == "quit":
        assert lines[2].startswith(b"221 ")
    assert len(made) == 1 and made[0]() is None


@pytest.mark.parametrize("loop", RUNNERS)
def test_a_session_whose_time_is_up_is_freed_too(loop, no_cycle_collector):
    made, lines = RUNNERS[loop](_session("timeout", timeout=0.2))
    assert lines[2].startswith(b"421 ")
    assert len(made) == 1 and made[0]() is None


@pytest.mark.parametrize("loop", RUNNERS)
def test_a_running_session_keeps_what_it_uses(loop) -> None:
    async def run():
        loop = asyncio.get_running_loop()
        registry = SessionRegistry()
        sessions = []

        def factory():
            sessions.append(RelaySMTP(Handler(), registry, 10, connection_checks=(),
                                      loop=loop, **OPTIONS))
            return sessions[-1]

        server = await loop.create_server(factory, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await reader.readline()
        for _ in range(3):
            writer.write(b"NOOP\r\n")
            assert (await reader.readline()).startswith(b"250 ")
        session = sessions[0]
        kept = (session._smtp_methods, session._reader, session._writer,
                session._handler_coroutine, session._timeout_handle)
        writer.write(b"QUIT\r\n")
        await reader.readline()
        writer.close()
        server.close()
        await server.wait_closed()
        return kept

    commands, reader, writer, task, timer = RUNNERS[loop](run())
    assert "NOOP" in commands and reader is not None and writer is not None
    assert task is not None and timer is not None
