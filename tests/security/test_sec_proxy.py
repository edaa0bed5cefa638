"""The PROXY protocol listener: relay decisions follow the client address of the PROXY
header, also after STARTTLS (aiosmtpd issue #287). Two qtsmtp servers behind HAProxy
(send-proxy-v2) on loopback, and hand-written v1/v2 headers from Python."""

from __future__ import annotations

import shutil
import signal
import smtplib
import socket
import ssl
import subprocess

import pytest

from support import eventually, free_port
from qtsmtp.server.proxyproto import v1_header, v2_header


class ProxiedSMTP(smtplib.SMTP):
    """smtplib that sends a PROXY header first, as a load balancer would."""

    def __init__(self, header: bytes, port: int):
        self._header = header
        super().__init__(timeout=30)
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.sendall(header)
        self.file = None
        code, msg = self.getreply()
        if code != 220:
            raise smtplib.SMTPConnectError(code, msg)
        self._host = "127.0.0.1"


def proxied_server(new_server, name="root", accept="10.9.8.7"):
    server = new_server(name)
    server.proxy_port = free_port()
    server.run("chgsmtpa", f"PROXYPORT({server.proxy_port}) ALWRLY(*LIST)")
    server.run("addsmtple", "*ACCEPT", f"INTNETADR('{accept}')")
    return server


@pytest.mark.parametrize("make", [v1_header, v2_header])
def test_relay_follows_the_proxy_header(new_server, make):
    server = proxied_server(new_server)
    server.start("SVRJOBS(1)")
    for client_ip, expected in (("10.9.8.7", 250), ("10.9.8.8", 550)):
        client = ProxiedSMTP(make(client_ip, 40000, "127.0.0.1", server.proxy_port),
                             server.proxy_port)
        try:
            client.ehlo("lb.test")
            assert client.mail("a@client.test")[0] == 250
            assert client.rcpt("x@far.example")[0] == expected, client_ip
        finally:
            client.quit()
    # The PROXY listener refuses a connection without a header; the plain port is plain.
    with socket.create_connection(("127.0.0.1", server.proxy_port), timeout=30) as raw:
        raw.sendall(b"EHLO nobody\r\n")
        assert raw.recv(100) == b""
    server.joblog_shows("TCP6050")
    assert server.rcpt_code("127.0.0.2", "x@far.example") == 550


def test_proxy_address_survives_starttls(new_server, certificate):
    server = proxied_server(new_server)
    cert, key = certificate
    server.run("chgsmtpa", f"TLSCERT('{cert}') TLSKEY('{key}')")
    server.start("SVRJOBS(1)")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    for client_ip, expected in (("10.9.8.7", 250), ("10.9.8.8", 550)):
        client = ProxiedSMTP(v2_header(client_ip, 40001, "127.0.0.1", server.proxy_port),
                             server.proxy_port)
        try:
            client.ehlo("lb.test")
            client.starttls(context=context)
            client.ehlo("lb.test")
            assert client.mail("a@client.test")[0] == 250
            assert client.rcpt("x@far.example")[0] == expected, client_ip
            if expected == 250:
                assert client.data(b"Subject: t\r\n\r\nx\r\n")[0] == 250
        finally:
            client.quit()
    stored = b"".join(server.stored_messages())
    assert b"[10.9.8.7]" in stored and b"127.0.0.1]" not in stored.split(b"\r\n\r\n")[0]


def test_two_servers_behind_haproxy(new_server, tmp_path):
    haproxy = shutil.which("haproxy")
    if not haproxy:
        pytest.fail("haproxy is not installed (.ci/run installs the Debian package)")
    first = proxied_server(new_server, "one", accept="127.0.0.5")
    second = proxied_server(new_server, "two", accept="127.0.0.5")
    first.start("SVRJOBS(1)")
    second.start("SVRJOBS(1)")
    front = free_port()
    config = tmp_path / "haproxy.cfg"
    config.write_text(f"""global
    log stdout format raw local0 err
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend smtp
    bind 127.0.0.1:{front}
    default_backend qtsmtp
backend qtsmtp
    balance roundrobin
    server one 127.0.0.1:{first.proxy_port} send-proxy-v2
    server two 127.0.0.1:{second.proxy_port} send-proxy-v2
""")
    process = subprocess.Popen([haproxy, "-f", str(config), "-db"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    try:
        def listening():
            try:
                socket.create_connection(("127.0.0.1", front), timeout=1).close()
                return True
            except OSError:
                return False
        eventually(listening, "haproxy listening")
        codes = {}
        for source in ("127.0.0.5", "127.0.0.6"):
            for n in range(4):
                client = smtplib.SMTP("127.0.0.1", front, source_address=(source, 0), timeout=30)
                try:
                    client.ehlo("client.test")
                    assert client.mail("a@client.test")[0] == 250
                    code = client.rcpt(f"n{n}@far.example")[0]
                    codes.setdefault(source, set()).add(code)
                    if code == 250:
                        assert client.data(b"Subject: via haproxy\r\n\r\nx\r\n")[0] == 250
                finally:
                    client.quit()
        assert codes == {"127.0.0.5": {250}, "127.0.0.6": {550}}
        # Round robin: both servers took mail, and both saw the real client address.
        for server in (first, second):
            stored = server.stored_messages()
            assert stored and all(b"[127.0.0.5]" in m for m in stored)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(20)
