"""Unit tests of the security modules: credentials, PROXY headers, submission profiles,
exit verdicts and programs, TLS and permission checks, DNSBL look-ups (against a
loopback name server written here)."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import struct
import sys
import threading
from pathlib import Path

import pytest
from aiosmtpd.proxy_protocol import get_proxy

from qtsmtp.messages import CLError
from qtsmtp.server import proxyproto
from qtsmtp.server.dnsbl import Blocklists, query_name
from qtsmtp.server.exits import (ACCEPT, CONTINUE, ExitEvent, ExternalProgram,
                                 PolicyServer, SessionExits, compile_chain,
                                 postfix_request, postfix_verdict, verdict_of)
from qtsmtp.server.tls import check_permissions, server_context
from qtsmtp.config import credentials
from qtsmtp.config.exitreg import ExitRegistration, RegistryError, parse_registry, program_kind
from qtsmtp.config import submission as subctl
from support import blocklist_server, make_certificate

HERE = Path(__file__).resolve().parent


# --- credentials ---------------------------------------------------------------------------

def test_scrypt_hash_round_trip_and_no_plain_text():
    stored = credentials.hash_password("correct horse", n=2 ** 10)
    assert "correct" not in stored and stored.startswith("scrypt$1024$8$1$")
    assert credentials.check_password("correct horse", stored)
    assert not credentials.check_password("correct hors", stored)
    assert not credentials.check_password("x", "md5$abc")
    assert not credentials.check_password("x", "scrypt$99999999$8$1$AA$AA")


def test_a_hash_with_parameters_too_weak_is_refused(tmp_path):
    # The commands hash with N=2**14, r=8; these lines can only come from a hand edit.
    for weak in (credentials.hash_password("pw", n=2),
                 credentials.hash_password("pw", n=2 ** 10, r=1)):
        assert not credentials.check_password("pw", weak), weak
    assert credentials.check_password("pw", credentials.hash_password("pw", n=2 ** 10))
    member = credentials.credentials_member(tmp_path)
    with member.locked():
        member.replace("weak\t" + credentials.hash_password("pw", n=2) + "\n")
    assert not credentials.CredentialStore(tmp_path).verify("weak", "pw")


def test_a_hash_whose_check_costs_more_than_16_commands_is_refused(tmp_path, monkeypatch):
    # A hand edit such as N=2**20, r=8, p=16 made every AUTH naming the user cost 1 GiB
    # and some 16 s of CPU, whoever sent it. The limit is 128 * N * r * p = 256 MiB:
    # 16 times the commands' parameters, in memory (r) or in time (p).
    costly = credentials.hash_password("pw", n=2 ** 16, r=8, p=8)         # 512 MiB
    at_limit = credentials.hash_password("pw", n=2 ** 14, r=8, p=16)      # 256 MiB
    assert not credentials.check_password("pw", costly)
    assert credentials.check_password("pw", at_limit)
    # Memory: 64 MiB a check at most (the checks of several clients run at once).
    wide = credentials.hash_password("pw", n=2 ** 17, r=8)                 # 128 MiB
    assert not credentials.check_password("pw", wide)
    assert credentials.check_password("pw", credentials.hash_password("pw", n=2 ** 16, r=8))
    checks = []
    real = credentials.hashlib.scrypt
    monkeypatch.setattr(credentials.hashlib, "scrypt",
                        lambda *a, **k: checks.append(k) or real(*a, **k))
    member = credentials.credentials_member(tmp_path)
    with member.locked():
        member.replace(f"costly\t{costly}\n")
    assert not credentials.CredentialStore(tmp_path).verify("costly", "pw")
    # The refusal costs what an unknown user's does: one check with the commands' N.
    assert [(k["n"], k["r"], k["p"]) for k in checks] == [
        (credentials.SCRYPT_N, credentials.SCRYPT_R, credentials.SCRYPT_P)]


def test_a_hash_scrypt_cannot_check_is_refused_not_raised(tmp_path):
    # Hand edits: an N that is no power of 2; a check that would need more memory than
    # hashlib.scrypt may be allowed (maxmem is a C int; now refused before, as too
    # costly). Both raised ValueError out of
    # check_password (an SMTP client saw '500 ... (ValueError) n must be a power of 2').
    salt, digest = credentials.hash_password("pw", n=2 ** 10).split("$")[4:]
    member = credentials.credentials_member(tmp_path)
    for parameters in ("16385$8$1", "1048576$32$1", "1048576$16$16"):
        stored = f"scrypt${parameters}${salt}${digest}"
        assert not credentials.check_password("pw", stored), stored
        with member.locked():
            member.replace(f"odd\t{stored}\n")
        assert not credentials.CredentialStore(tmp_path).verify("odd", "pw"), stored


def test_an_unknown_user_costs_one_scrypt_from_the_first(tmp_path, monkeypatch):
    member = credentials.credentials_member(tmp_path)
    with member.locked():
        member.replace("alice\t" + credentials.hash_password("pw", n=2 ** 10) + "\n")
    calls = []
    real = credentials.hashlib.scrypt

    def counted(*args, **kwargs):
        calls.append(kwargs["n"])
        return real(*args, **kwargs)

    monkeypatch.setattr(credentials.hashlib, "scrypt", counted)
    store = credentials.CredentialStore(tmp_path)
    for user in ("nobody", "nobody", "alice"):
        store.verify(user, "guess")
    # The same work for an unknown name as for a known one: one scrypt each, the
    # commands' parameters for the unknown (alice's own for her).
    assert calls == [credentials.SCRYPT_N, credentials.SCRYPT_N, 2 ** 10]


def test_store_rereads_a_changed_member(tmp_path):
    store = credentials.CredentialStore(tmp_path)
    assert not store.has_users()
    member = credentials.credentials_member(tmp_path)
    with member.locked():
        member.replace("alice\t" + credentials.hash_password("pw", n=2 ** 10) + "\n")
    assert store.verify("alice", "pw") and not store.verify("alice", "no")
    assert not store.verify("bob", "pw")
    assert oct(os.stat(member.path).st_mode & 0o777) == "0o600"


# --- PROXY protocol ------------------------------------------------------------------------
# aiosmtpd parses the header (the server's PROXYPORT sessions use its proxy_protocol_timeout);
# proxyproto.proxied_client says which client a valid header gives the relay.

def _read(data: bytes):
    """(the client the server would use, or None for the socket's; the bytes left for
    SMTP), or (False, ...) for a header the server refuses."""
    async def go():
        reader = asyncio.StreamReader(limit=1001)        # aiosmtpd's line limit
        reader.feed_data(data)
        reader.feed_eof()
        parsed = await get_proxy(reader)
        source = proxyproto.proxied_client(parsed) if parsed else False
        return source, await reader.read()
    return asyncio.run(go())


@pytest.mark.parametrize("make", [proxyproto.v1_header, proxyproto.v2_header])
@pytest.mark.parametrize("client", ["203.0.113.9", "2001:db8::5"])
def test_proxy_header_gives_the_real_client_and_leaves_smtp_alone(make, client):
    server = "127.0.0.1" if ":" not in client else "::1"
    source, rest = _read(make(client, 40000, server, 25) + b"EHLO x\r\n")
    assert source == (client, 40000)
    assert rest == b"EHLO x\r\n"


def test_proxy_v2_ipv4_mapped_client_is_the_ipv4_address():
    header = proxyproto.v2_header("::ffff:192.0.2.7", 40000, "::1", 25)
    assert _read(header)[0] == ("192.0.2.7", 40000)


def test_proxy_local_and_unknown_mean_the_socket_address():
    assert _read(proxyproto.v2_header("", 0, "", 0, local=True))[0] is None
    assert _read(b"PROXY UNKNOWN\r\n")[0] is None
    # LOCAL with addresses: the balancer's own connection all the same.
    local = bytearray(proxyproto.v2_header("203.0.113.9", 1, "127.0.0.1", 25))
    local[12] = 0x20
    assert _read(bytes(local))[0] is None


@pytest.mark.parametrize("bad", [
    b"EHLO x\r\n", b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", b"PROXY TCP4 ::1 ::1 1 2\r\n",
    b"PROXY TCP4 1.2.3.4 5.6.7.8 99999 2\r\n", b"PROXY " + b"A" * 200 + b"\r\n",
    b"PROXY " + b"A" * 2000 + b"\r\n",
    proxyproto.V2_SIGNATURE + bytes([0x21, 0x11]) + struct.pack("!H", 4) + b"\0" * 4,
    proxyproto.V2_SIGNATURE + bytes([0x31, 0x11]) + struct.pack("!H", 12) + b"\0" * 12,
    proxyproto.V2_SIGNATURE + bytes([0x21, 0x11]) + struct.pack("!H", 60000),
    b"PROXY TCP4 1.2.3.4",
])
def test_bad_proxy_headers_are_refused(bad):
    assert _read(bad)[0] is False


# --- submission control ------------------------------------------------------------------

P = subctl.Profile


def test_most_specific_profile_decides():
    profiles = [P("QTSMTP.SUBMIT.**", "*DENY"), P("QTSMTP.SUBMIT.*.*", "*ALLOW"),
                P("QTSMTP.SUBMIT.STAFF.*", "*DENY"), P("QTSMTP.SUBMIT.STAFF.OPS", "*ALLOW"),
                P("QTSMTP.SUBMIT.STAFF.APP*", "*ALLOW"), P("QTSMTP.SUBMIT.STAFF.APPX*", "*DENY")]
    decide = lambda user, group: subctl.decide(profiles, subctl.resource_of(user, group)).name
    assert decide("OPS", "STAFF") == "QTSMTP.SUBMIT.STAFF.OPS"
    assert decide("BOB", "STAFF") == "QTSMTP.SUBMIT.STAFF.*"
    assert decide("APP1", "STAFF") == "QTSMTP.SUBMIT.STAFF.APP*"
    assert decide("APPX1", "STAFF") == "QTSMTP.SUBMIT.STAFF.APPX*"
    assert decide("BOB", "USERS") == "QTSMTP.SUBMIT.*.*"
    assert subctl.decide([], "QTSMTP.SUBMIT.A.B") is None
    assert subctl.decide([P("QTSMTP.SUBMIT.**", "*DENY")], "QTSMTP.SUBMIT.A.B").access == "*DENY"


@pytest.mark.parametrize("bad", ["", "A..B", "A.**.B", "A.B C", "A.*X"])
def test_bad_profile_names(bad):
    with pytest.raises(CLError):
        subctl.profile_name(bad)


# --- exits: verdicts, registry -------------------------------------------------------------

def test_verdict_forms():
    assert verdict_of(None).action == CONTINUE
    assert verdict_of("accept").action == ACCEPT
    assert verdict_of("REJECT 554 5.7.1 no").reply() == "554 5.7.1 no"
    assert verdict_of("REJECT").reply().startswith("550 5.7.1")
    assert verdict_of(("REJECT", 451, "4.7.1 later")).reply() == "451 4.7.1 later"
    assert verdict_of("550 bad\r\nhi").reply() == "550 bad hi"
    for bad in ["REJECT 250 ok", "MAYBE", 42, ("REJECT", 700, "x")]:
        with pytest.raises((ValueError, TypeError)):
            verdict_of(bad)


def test_postfix_actions():
    assert postfix_verdict("OK").action == ACCEPT
    assert postfix_verdict("DUNNO").action == CONTINUE
    assert postfix_verdict("PREPEND X-Foo: bar").action == CONTINUE
    assert postfix_verdict("REJECT spam").reply() == "554 spam"
    assert postfix_verdict("DEFER_IF_PERMIT busy").reply() == "450 busy"
    assert postfix_verdict("521 5.7.1 go away").reply() == "521 5.7.1 go away"
    request = postfix_request(ExitEvent("RCPT", "TO:<a@b>", "192.0.2.1", 1, "s1",
                                        recipient="a@b\r\ninjected=1"))
    assert request.endswith(b"\n\n") and b"protocol_state=RCPT\n" in request
    assert b"\ninjected=1" not in request


def test_registry_kinds_and_faults():
    assert program_kind("pkg.mod:fn") == "python"
    assert program_kind("/usr/bin/x -a") == "external"
    assert program_kind("policy:inet:127.0.0.1:10023") == "policy"
    assert program_kind("policy:unix:/run/p.sock") == "policy"
    assert program_kind("policy:inet:host:99999") == "" and program_kind("x") == ""
    with pytest.raises(RegistryError):
        parse_registry("QIBM_QTMS_SMTP_EXIT\tSMTP0100\t1\tnot valid\t2000\t*CONTINUE\t\n")


class _Log:
    def __init__(self):
        self.lines = []

    def send(self, msgid, *data):
        self.lines.append((msgid,) + data)


def _chain(*programs, timeout_ms=300, action="*CONTINUE"):
    from concurrent.futures import ThreadPoolExecutor
    regs = [ExitRegistration("QIBM_QTMS_SMTP_EXIT", "SMTP0100", n + 1, p, timeout_ms, action, "")
            for n, p in enumerate(programs)]
    return compile_chain(regs, ThreadPoolExecutor(4))


def _event(command="MAIL", argument="FROM:<a@spam.example>", sender="a@spam.example"):
    return ExitEvent(command, argument, "192.0.2.7", 5000, "s1", helo="h", sender=sender)


def test_python_exits_reject_accept_time_out_and_fail():
    sys.path.insert(0, str(HERE))
    try:
        log = _Log()
        exits = SessionExits(_chain("exitsamples:reject_spam_senders", "exitsamples:accept_then_count"),
                             log, "peer")
        verdict = asyncio.run(exits.check(_event()))
        assert verdict.reply().startswith("550 5.7.1")
        ok = asyncio.run(exits.check(_event(sender="a@good.example", argument="FROM:<a@good.example>")))
        assert ok.action == CONTINUE and 1 in exits.accepted
        slow = SessionExits(_chain("exitsamples:slow_async", action="*REJECT"), log, "peer")
        assert asyncio.run(slow.check(_event())).reply().startswith("451 4.7.1")
        broken = SessionExits(_chain("exitsamples:raises", "nosuchmodule_q:fn"), log, "peer")
        assert asyncio.run(broken.check(_event())).action == CONTINUE
        ids = [line[0] for line in log.lines]
        assert ids.count("TCP6084") == 1       # slow_async: no answer within its budget
        assert ids.count("TCP6020") == 2       # raises; nosuchmodule_q cannot be loaded
    finally:
        sys.path.remove(str(HERE))


def test_external_program_line_protocol(tmp_path):
    async def go():
        program = ExternalProgram(f"{sys.executable} {HERE / 'exitsamples.py'} --serve")
        try:
            rejected = verdict_of(await program.call(_event(), 5))
            passed = verdict_of(await program.call(_event(sender="x@ok.example"), 5))
            data = _event("DATA", "", "x@ok.example")
            data.content = b"Subject: hi\r\n\r\nbody\r\n"
            seen = verdict_of(await program.call(data, 5))
        finally:
            await program.close()
        return rejected, passed, seen
    rejected, passed, seen = asyncio.run(go())
    assert rejected.reply().startswith("550 5.7.1")
    assert passed.action == CONTINUE and seen.action == ACCEPT


def test_policy_server_client():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    requests = []

    def serve():
        conn, _ = server.accept()
        with conn:
            buffer = b""
            for _ in range(2):
                while b"\n\n" not in buffer:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    buffer += chunk
                request, buffer = buffer.split(b"\n\n", 1)
                requests.append(request)
                action = b"REJECT no spam" if b"spam" in request else b"DUNNO"
                conn.sendall(b"action=" + action + b"\n\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()

    async def go():
        client = PolicyServer(f"policy:inet:127.0.0.1:{port}")
        try:
            return (verdict_of(await client.call(_event(), 5)),
                    verdict_of(await client.call(_event(sender="a@ok.example"), 5)))
        finally:
            await client.close()
    try:
        first, second = asyncio.run(go())
    finally:
        thread.join(5)
        server.close()
    assert first.reply() == "554 no spam" and second.action == CONTINUE
    assert len(requests) == 2 and b"request=smtpd_access_policy" in requests[0]


# --- TLS and permissions -------------------------------------------------------------------

def test_tls_context_is_tls12_plus_and_key_permissions_are_checked(tmp_path):
    cert, key = make_certificate(tmp_path)
    context = server_context(str(cert), str(key))
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    os.chmod(key, 0o640)
    with pytest.raises(CLError) as info:
        server_context(str(cert), str(key))
    assert info.value.escape.id == "TCP6031" and str(key) in str(info.value)


def test_world_writable_paths_are_named(tmp_path):
    (tmp_path / "QUSRSYS" / "QATMSMTP").mkdir(parents=True)
    check_permissions(tmp_path, [])
    os.chmod(tmp_path / "QUSRSYS" / "QATMSMTP", 0o777)
    with pytest.raises(CLError) as info:
        check_permissions(tmp_path, [])
    assert info.value.escape.id == "TCP6032" and "QATMSMTP" in str(info.value)
    os.chmod(tmp_path / "QUSRSYS" / "QATMSMTP", 0o755)
    secret = tmp_path / "secret"
    secret.write_text("x")
    os.chmod(secret, 0o644)
    with pytest.raises(CLError) as info:
        check_permissions(tmp_path, [secret])
    assert info.value.escape.id == "TCP6031"


# --- DNSBL against a loopback name server --------------------------------------------------

def test_dnsbl_query_names():
    assert query_name("192.0.2.5", "bl.example") == "5.2.0.192.bl.example."
    assert query_name("2001:db8::1", "bl.example").startswith("1.0.0.0.")


def test_dnsbl_listed_not_listed_and_silent(monkeypatch):
    monkeypatch.setenv("QTSMTP_DNS", "on")
    with blocklist_server({"5.2.0.192.bl.example."}, silent=("silent.example.",)) as nameserver:
        lists = Blocklists(["silent.example", "bl.example"], timeout=0.5, nameserver=nameserver)
        assert asyncio.run(lists.check("192.0.2.5")) == ("bl.example", ["silent.example"])
        assert asyncio.run(lists.check("192.0.2.6")) == (None, ["silent.example"])
        monkeypatch.setenv("QTSMTP_DNS", "off")
        assert not lists.active
        assert asyncio.run(lists.check("192.0.2.5")) == (None, [])
