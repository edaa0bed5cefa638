"""DATA read as it arrives (qtsmtp.server.dataread): the end is CR LF . CR LF and nothing
else, transparency, bare CR and LF, long lines folded, the size limit; and the same
result however the bytes are cut into pieces by the network."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qtsmtp.server.dataread import MAX_LINE, read_data

READER_LIMIT = 1001          # aiosmtpd's StreamReader limit (its line_length_limit)


def run(stream: bytes, cuts: tuple[int, ...] = (), limit: int = 10**9,
        allow_bare: bool = False):
    """read_data over ``stream`` arriving in pieces cut at ``cuts``; (outcome, stored,
    what is left in the reader)."""
    async def go():
        reader = asyncio.StreamReader(limit=READER_LIMIT)
        stored = bytearray()

        async def store(data: bytes) -> None:
            stored.extend(data)

        async def feed():
            last = 0
            for cut in sorted(set(cuts)) + [len(stream)]:
                reader.feed_data(stream[last:cut])
                last = cut
                await asyncio.sleep(0)
            reader.feed_eof()

        feeder = asyncio.create_task(feed())
        outcome = await read_data(reader, store, limit=limit, allow_bare_line_ends=allow_bare)
        await feeder
        rest = await reader.read()
        return outcome, bytes(stored), rest
    return asyncio.run(go())


def reference(stream: bytes) -> tuple[bytes, bytes]:
    """RFC 5321 by the line, for data whose lines all end in CR LF and are short:
    (message, rest after the final dot line)."""
    lines, position = [], 0
    while True:
        end = stream.index(b"\r\n", position) + 2
        line = stream[position:end]
        position = end
        if line == b".\r\n":
            return b"".join(lines), stream[position:]
        lines.append(line[1:] if line.startswith(b".") else line)


@pytest.mark.parametrize("stream, message", [
    (b".\r\n", b""),
    (b"\r\n.\r\n", b"\r\n"),
    (b"..\r\n.\r\n", b".\r\n"),
    (b".x\r\n..y\r\n.\r\n", b"x\r\n.y\r\n"),
    (b"Subject: a\r\n\r\nbody\r\n.\r\n", b"Subject: a\r\n\r\nbody\r\n"),
])
def test_transparency_and_the_end(stream: bytes, message: bytes) -> None:
    outcome, stored, rest = run(stream + b"QUIT\r\n")
    assert (stored, rest) == (message, b"QUIT\r\n")
    assert not outcome.bare_line_end and not outcome.too_big


@pytest.mark.parametrize("smuggled", [b"\n.\n", b"\r.\r\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r"])
def test_smuggling_sequences_are_not_the_end_and_are_refused(smuggled: bytes) -> None:
    """What follows them is data, not commands; with ALWBARELF(*NO) the message is
    refused at the real end, and nothing after the real end is taken."""
    stream = b"line1" + smuggled + b"MAIL FROM:<smuggled@x>\r\nRCPT TO:<v@y>\r\n.\r\nQUIT\r\n"
    outcome, stored, rest = run(stream)
    assert rest == b"QUIT\r\n"
    assert outcome.bare_line_end
    assert outcome.refusal(100).startswith("550 5.6.2 ")


@pytest.mark.parametrize("smuggled", [b"\n.\n", b"\r.\r\n", b"\n.\r\n"])
def test_alwbarelf_yes_accepts_and_stores_only_crlf(smuggled: bytes) -> None:
    stream = b"line1" + smuggled + b"MAIL FROM:<smuggled@x>\r\n.\r\nQUIT\r\n"
    outcome, stored, rest = run(stream, allow_bare=True)
    assert rest == b"QUIT\r\n" and outcome.refusal(100) is None
    # Every line end is CR LF now; a dot line of the client's became an empty line
    # (transparency), so no next hop can take it for an end either.
    assert stored.count(b"\r") == stored.count(b"\n") == stored.count(b"\r\n")
    assert b"\r\n.\r\n" not in stored and stored.startswith(b"line1\r\n")


def test_too_big_is_read_to_the_end_without_being_stored() -> None:
    body = b"x" * 100 + b"\r\n"
    outcome, stored, rest = run(body * 50 + b".\r\nQUIT\r\n", limit=1000)
    assert outcome.too_big and outcome.size == len(body) * 50
    assert len(stored) <= 1000 and rest == b"QUIT\r\n"
    assert outcome.refusal(1000).startswith("552 5.3.4 ")


def test_long_lines_are_folded_after_998_octets() -> None:
    long_header = b"X-Long: " + b"a" * 2500 + b"\r\n"
    outcome, stored, rest = run(long_header + b"\r\n" + b"b" * 998 + b"\r\n.\r\n")
    lines = stored.split(b"\r\n")
    assert max(map(len, lines)) == MAX_LINE
    assert all(line.startswith(b" ") for line in lines[1:3])   # folded: CR LF SPACE
    assert stored.replace(b"\r\n ", b"") == long_header + b"\r\n" + b"b" * 998 + b"\r\n"
    assert lines[4] == b"b" * 998               # 998 octets exactly: not folded
    assert outcome.folded == 2 and outcome.refusal(10**9) is None


def test_a_line_of_any_length_costs_no_memory_and_is_folded() -> None:
    line = b"z" * 3_000_000
    outcome, stored, _ = run(line + b"\r\n.\r\n", cuts=tuple(range(0, len(line), 70_000)))
    assert stored.replace(b"\r\n ", b"") == line + b"\r\n"
    assert max(map(len, stored.split(b"\r\n"))) == MAX_LINE


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(st.binary(max_size=40).map(
           lambda b: b.replace(b"\r", b"").replace(b"\n", b"")), max_size=30),
       data=st.data())
def test_any_cutting_gives_what_rfc_5321_line_reading_gives(lines, data) -> None:
    stream = b"".join(line + b"\r\n" for line in lines) + b".\r\nNOOP\r\n"
    cuts = tuple(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    outcome, stored, rest = run(stream, cuts)
    assert (stored, rest) == reference(stream)
    assert outcome.size == len(stream) - len(rest) - len(b".\r\n")


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=300), data=st.data())
def test_the_cutting_never_changes_the_outcome(body, data) -> None:
    """Whatever bytes (bare CR and LF, dots, long runs): the same stored bytes and the
    same verdict for every way the network cuts them."""
    stream = b"x" + body.replace(b"\r\n.\r\n", b"") + b"\r\n.\r\nNOOP\r\n"
    cuts = tuple(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    for allow in (False, True):
        whole = run(stream, (), allow_bare=allow)
        cut = run(stream, cuts, allow_bare=allow)
        assert cut[1:] == whole[1:] and cut[0] == whole[0]
        # The end is the first CR LF . CR LF, wherever the pieces were cut.
        assert whole[2] == stream[stream.index(b"\r\n.\r\n") + 5:]
