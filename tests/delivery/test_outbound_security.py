"""Outbound STARTTLS, AUTH with *HOSTAUTH credentials, and *CLTBIND, against real sinks.

The sinks are aiosmtpd on loopback offering STARTTLS with a certificate made here for
IP:127.0.0.1. What the client job must do (smtpclient.Connection.open):
- encrypt whenever STARTTLS is offered, without checking the certificate (RFC 7435),
  and fall back to clear text when the handshake fails;
- send a password only over TLS whose certificate it verified (SSL_CERT_FILE here).
"""

from __future__ import annotations

import ssl
import subprocess
import threading

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from support import free_port


@pytest.fixture
def certificate(tmp_path):
    cert, key = tmp_path / "sink.crt", tmp_path / "sink.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


class TLSSink:
    """A sink that offers STARTTLS (and AUTH when given an authenticator) and records
    whether each message came over TLS, from which address, and which logins it saw."""

    def __init__(self, context: ssl.SSLContext | None, auth: bool = False, auth_require_tls=True):
        self.port = free_port()
        self.lock = threading.Lock()
        self.messages: list[dict] = []
        self.logins: list[tuple[str, str]] = []
        kwargs = {"tls_context": context} if context else {}
        if auth:
            kwargs.update(authenticator=self._authenticate, auth_require_tls=auth_require_tls,
                          auth_exclude_mechanism=["CRAM-MD5"])
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port,
                                     server_hostname="sink.test", ready_timeout=10, **kwargs)

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        user = auth_data.login.decode()
        password = auth_data.password.decode()
        with self.lock:
            self.logins.append((user, password))
        return AuthResult(success=(user, password) == ("relayuser", "Pa ss"), handled=False)

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append({"tls": session.ssl is not None, "peer": session.peer[0],
                                  "authenticated": bool(session.authenticated),
                                  "to": list(envelope.rcpt_tos)})
        return "250 2.0.0 accepted"

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


def server_context(certificate, maximum=None) -> ssl.SSLContext:
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    if maximum:
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        context.maximum_version = maximum
    return context


def deliver_through(droot, sink, *extra_commands) -> None:
    droot.run("chgsmtpa", f"FWDHUBSVR('127.0.0.1:{sink.port}')")
    for command in extra_commands:
        droot.run(*command)
    droot.queue_message("ops@sys.test", ["user@far.test"], b"Subject: tls\r\n\r\nbody\r\n")
    droot.run("qtsmtp", "runqueue")


def test_starttls_is_used_whenever_offered_whatever_the_certificate(droot, certificate):
    with TLSSink(server_context(certificate)) as sink:
        deliver_through(droot, sink)
    assert sink.messages == [{"tls": True, "peer": "127.0.0.1", "authenticated": False,
                              "to": ["user@far.test"]}]


def test_failed_handshake_falls_back_to_clear_text(droot, certificate):
    # The sink speaks at most TLS 1.1; the client wants 1.2 or later: the handshake fails.
    with TLSSink(server_context(certificate, maximum=ssl.TLSVersion.TLSv1_1)) as sink:
        deliver_through(droot, sink)
    assert [m["tls"] for m in sink.messages] == [False]


def test_credentials_go_over_verified_tls(droot, certificate):
    droot.env["SSL_CERT_FILE"] = str(certificate[0])      # the sink's certificate is trusted
    with TLSSink(server_context(certificate), auth=True) as sink:
        deliver_through(droot, sink, ("addsmtple", "*HOSTAUTH HOSTNAME('127.0.0.1') "
                                                   "USERNAME(relayuser) PASSWORD('Pa ss')"))
    assert sink.logins == [("relayuser", "Pa ss")]
    assert sink.messages and sink.messages[0]["tls"] and sink.messages[0]["authenticated"]


def test_no_password_to_a_host_whose_certificate_is_not_verified(droot, certificate):
    with TLSSink(server_context(certificate), auth=True) as sink:     # not trusted: no SSL_CERT_FILE
        deliver_through(droot, sink, ("addsmtple", "*HOSTAUTH HOSTNAME('127.0.0.1') "
                                                   "USERNAME(relayuser) PASSWORD('Pa ss')"))
    assert sink.logins == [] and sink.messages == []
    assert "credentials are sent only over verified TLS" in droot.joblog_text() + _queue_log(droot)


def test_no_password_in_clear_text(droot):
    with TLSSink(None, auth=True, auth_require_tls=False) as sink:    # AUTH offered, no TLS
        deliver_through(droot, sink, ("addsmtple", "*HOSTAUTH HOSTNAME('127.0.0.1') "
                                                   "USERNAME(relayuser) PASSWORD('Pa ss')"))
    assert sink.logins == [] and sink.messages == []


def test_client_bind_address_is_the_source_of_outbound_connections(droot, certificate):
    with TLSSink(server_context(certificate)) as sink:
        deliver_through(droot, sink, ("addsmtple", "*CLTBIND INTNETADR('127.0.0.9')"))
    assert [m["peer"] for m in sink.messages] == ["127.0.0.9"]


def _queue_log(droot) -> str:
    # A queue run reports its deferrals on its own output; the job log may not exist.
    run = droot.run("qtsmtp", "runqueue", "--all")
    return run.stdout + run.stderr


def test_a_remote_reply_reaches_the_operator_with_nothing_a_terminal_obeys(droot, sinks):
    # A reply is text the next hop chose: any server on the Internet mail is sent to.
    # WRKSMTPQ and DSPSMTPJRN show it to the operator: an OSC that retitles the terminal
    # and a CSI that clears it must come as text, not act.
    from support import eventually

    hostile = "451 4.3.0 \x1b]0;owned\x07\x1b[2J\x7f try later"
    hub = sinks(lambda address, attempt: hostile)
    droot.run("chgsmtpa", f"FWDHUBSVR('{hub.address}')", "JOURNAL(*YES)")
    droot.start("SVRJOBS(1)")
    droot.queue_message("joe@client.test", ["far@remote.test"], b"Subject: t\r\n\r\nx\r\n")
    eventually(lambda: hub.attempts.get("far@remote.test"), "the first attempt")
    eventually(lambda: "try later" in droot.run("wrksmtpq").stdout, "the reply kept")
    eventually(lambda: "try later" in droot.run("dspsmtpjrn").stdout, "the reply journaled")
    for listing in (droot.run("wrksmtpq").stdout, droot.run("dspsmtpjrn").stdout):
        assert "try later" in listing
        assert "\x1b" not in listing and "\x07" not in listing and "\x7f" not in listing, \
            ascii(listing)
