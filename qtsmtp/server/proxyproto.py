"""The PROXY protocol, versions 1 and 2 (HAProxy's proxy-protocol.txt), server side.

A load balancer in front of qtsmtp opens the TCP connection itself; the PROXY header it
sends first says who the real client is. The relay decision, the reject lists, the
per-client limits, the exits and the Received: line must all use that address, not the
balancer's. Only a listener the administrator opened for it (CHGSMTPA PROXYPORT) reads
the header, and there the header is required: anyone who can reach such a port can claim
any address, so it must be reachable by the balancer only.

``read_header`` reads exactly the header (never a byte of SMTP) and returns the real
source, or None for a LOCAL (v2) or UNKNOWN (v1) header, which mean "use the
connection's own address" (a health check).
"""

from __future__ import annotations

import asyncio
import ipaddress
import struct
from dataclasses import dataclass

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
V1_MAX = 107                      # the whole v1 line, CRLF included
V2_MAX_PAYLOAD = 4096             # addresses + TLVs; HAProxy sends far less


class ProxyHeaderError(Exception):
    """The connection did not start with a valid PROXY header."""


@dataclass(frozen=True)
class ProxySource:
    client_address: str
    client_port: int
    server_address: str
    server_port: int
    version: int


async def read_header(reader: asyncio.StreamReader, timeout: float) -> ProxySource | None:
    try:
        return await asyncio.wait_for(_read(reader), timeout)
    except asyncio.TimeoutError:
        raise ProxyHeaderError("no PROXY header in time") from None
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        raise ProxyHeaderError("connection ended inside the PROXY header") from None


async def _read(reader: asyncio.StreamReader) -> ProxySource | None:
    start = await reader.readexactly(6)
    if start == b"PROXY ":
        line = start
        while not line.endswith(b"\r\n"):
            if len(line) >= V1_MAX:
                raise ProxyHeaderError("PROXY v1 line too long")
            line += await reader.readexactly(1)
        return parse_v1(line)
    if start == V2_SIGNATURE[:6]:
        rest = await reader.readexactly(10)
        header = start + rest
        length = struct.unpack("!H", header[14:16])[0]
        if length > V2_MAX_PAYLOAD:
            raise ProxyHeaderError(f"PROXY v2 payload of {length} bytes")
        payload = await reader.readexactly(length)
        return parse_v2(header + payload)
    raise ProxyHeaderError("the connection does not start with a PROXY header")


def parse_v1(line: bytes) -> ProxySource | None:
    if not line.startswith(b"PROXY ") or not line.endswith(b"\r\n") or len(line) > V1_MAX:
        raise ProxyHeaderError("not a PROXY v1 line")
    try:
        words = line[:-2].decode("ascii").split(" ")
    except UnicodeDecodeError:
        raise ProxyHeaderError("PROXY v1 line is not ASCII") from None
    if len(words) >= 2 and words[1] == "UNKNOWN":
        return None
    if len(words) != 6 or words[1] not in ("TCP4", "TCP6"):
        raise ProxyHeaderError("PROXY v1 line has the wrong fields")
    _, family, src, dst, sport, dport = words
    want = ipaddress.IPv4Address if family == "TCP4" else ipaddress.IPv6Address
    try:
        source, target = want(src), want(dst)
    except ValueError:
        raise ProxyHeaderError(f"PROXY v1 address not {family}") from None
    return ProxySource(str(source), _port(sport), str(target), _port(dport), 1)


def _port(text: str) -> int:
    if not text.isdigit() or len(text) > 5 or (len(text) > 1 and text[0] == "0") \
            or not 0 <= int(text) <= 65535:
        raise ProxyHeaderError(f"PROXY port {text!r} not valid")
    return int(text)


def parse_v2(data: bytes) -> ProxySource | None:
    if len(data) < 16 or data[:12] != V2_SIGNATURE:
        raise ProxyHeaderError("not a PROXY v2 header")
    version, command = data[12] >> 4, data[12] & 0x0F
    if version != 2:
        raise ProxyHeaderError(f"PROXY version {version}")
    family, transport = data[13] >> 4, data[13] & 0x0F
    length = struct.unpack("!H", data[14:16])[0]
    payload = data[16:16 + length]
    if len(payload) != length:
        raise ProxyHeaderError("PROXY v2 header cut short")
    if command == 0:                     # LOCAL: the balancer's own connection
        return None
    if command != 1:
        raise ProxyHeaderError(f"PROXY v2 command {command}")
    if transport not in (0, 1, 2) or family == 0 or family == 3:
        return None                      # UNSPEC or AF_UNIX: no address to use
    if family == 1:
        if length < 12:
            raise ProxyHeaderError("PROXY v2 IPv4 block too short")
        src, dst = ipaddress.IPv4Address(payload[0:4]), ipaddress.IPv4Address(payload[4:8])
        sport, dport = struct.unpack("!HH", payload[8:12])
    elif family == 2:
        if length < 36:
            raise ProxyHeaderError("PROXY v2 IPv6 block too short")
        src, dst = ipaddress.IPv6Address(payload[0:16]), ipaddress.IPv6Address(payload[16:32])
        sport, dport = struct.unpack("!HH", payload[32:36])
    else:
        raise ProxyHeaderError(f"PROXY v2 address family {family}")
    source = str(src.ipv4_mapped) if getattr(src, "ipv4_mapped", None) else str(src)
    return ProxySource(source, sport, str(dst), dport, 2)


# --- building headers (tests, benchmarks and the documentation's examples) -----------------

def v1_header(client: str, client_port: int, server: str, server_port: int) -> bytes:
    family = "TCP6" if ":" in client else "TCP4"
    return f"PROXY {family} {client} {server} {client_port} {server_port}\r\n".encode()


def v2_header(client: str, client_port: int, server: str, server_port: int,
              local: bool = False) -> bytes:
    if local:
        return V2_SIGNATURE + bytes([0x20, 0x00]) + struct.pack("!H", 0)
    src, dst = ipaddress.ip_address(client), ipaddress.ip_address(server)
    family = 0x11 if src.version == 4 else 0x21
    block = src.packed + dst.packed + struct.pack("!HH", client_port, server_port)
    return V2_SIGNATURE + bytes([0x21, family]) + struct.pack("!H", len(block)) + block
