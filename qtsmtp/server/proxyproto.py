"""The PROXY protocol (HAProxy's proxy-protocol.txt, versions 1 and 2): what the relay
takes from aiosmtpd's own support, and the header builders the tests and the manual use.

A load balancer in front of qtsmtp opens the TCP connection itself; the PROXY header it
sends first says who the real client is. The relay decision, the reject lists, the
per-client limits, the exits and the Received: line must all use that address, not the
balancer's. Only a listener the administrator opened for it (CHGSMTPA PROXYPORT) reads
the header, and there the header is required: anyone who can reach such a port can claim
any address, so it must be reachable by the balancer only.

aiosmtpd reads and parses the header, versions 1 and 2: the PROXYPORT listener's
sessions are made with SMTP(proxy_protocol_timeout=PROXY_HEADER_SECONDS), and aiosmtpd
calls the handler's handle_PROXY hook with the parsed ProxyData before it greets the
client. RelayHandler.handle_PROXY gives the session the client the header names and runs
the connection checks on it (qtsmtp.server.admission), so a PROXY listener checks what
the plain one checks, in the same order. A header that is not valid, or none within
PROXY_HEADER_SECONDS, closes the connection without the hook; RelaySMTP then writes
TCP6050. ``proxied_client`` is the one decision left here: which address a valid header
gives, or None for "the connection's own" (a v2 LOCAL header, a v1 UNKNOWN one, an
address family that is not IP: a balancer's health check).

Nothing the relay needed argued for a parser of its own. The one difference from the
parser qtsmtp had: a v2 header may announce up to 64 KiB of TLVs, and aiosmtpd reads them
(within the time limit) where ours refused more than 4 KiB.

PROXY and STARTTLS: after STARTTLS aiosmtpd makes a new session (RFC 3207 4.2) whose peer
is the socket's, that is the balancer's, and whose proxy_data is empty. RelaySession
carries the header's client over to the new session (protocol.RelaySMTP._create_session),
so the relay keeps deciding on the real client; tests/security/test_sec_proxy.py checks
it through a real STARTTLS.
"""

from __future__ import annotations

import ipaddress
import struct

from aiosmtpd.proxy_protocol import AF, V2_CMD, V2_SIGNATURE, ProxyData

# aiosmtpd's documentation asks for at least 3 s; the balancer sends the header at once.
PROXY_HEADER_SECONDS = 10


def proxied_client(data: ProxyData) -> tuple[str, int] | None:
    """(address, port) of the real client a valid header names, or None to keep the
    connection's own address."""
    if data.version == 2 and data.command == V2_CMD.LOCAL:
        return None              # the balancer's own connection; its addresses mean nothing
    if data.family not in (AF.INET, AF.INET6) or data.src_addr is None:
        return None              # v1 UNKNOWN, v2 UNSPEC or AF_UNIX
    source = data.src_addr
    mapped = getattr(source, "ipv4_mapped", None)
    return str(mapped if mapped is not None else source), data.src_port


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
