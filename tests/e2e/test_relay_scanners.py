"""Real relay-test tools against the server: nmap's smtp-open-relay script, and swaks.

Debian packages: nmap, swaks. nmap cannot bind a source address for its scripts, so it
always connects from 127.0.0.1: "not accepted" is the shipped configuration, "accepted"
adds 127.0.0.1 to the *ACCEPT list.
"""

from __future__ import annotations

import subprocess

from support import eventually, tool

NMAP_RUNS = 10


def nmap_relay(port: int) -> str:
    result = subprocess.run(
        [tool("nmap", "nmap"), "-Pn", "-n", "-sT", "-p", str(port), "--script", "+smtp-open-relay", "-vv",
         "--script-args", "smtp-open-relay.domain=example.com", "127.0.0.1"],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def swaks(port: int, source: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([tool("swaks", "swaks"), "--server", f"127.0.0.1:{port}", "--local-interface", source,
                           "--from", "probe@client.test", "--timeout", "30", *args],
                          capture_output=True, text=True, timeout=120)


def test_nmap_finds_no_relay_from_a_client_not_accepted(server) -> None:
    for run in range(NMAP_RUNS):
        out = nmap_relay(server.port)
        assert "Server doesn't seem to be an open relay, all tests failed" in out, (run, out)


def test_nmap_reports_relaying_from_an_accepted_client(server) -> None:
    server.run("addsmtple", "*ACCEPT", "INTNETADR('127.0.0.1')")
    eventually(lambda: server.rcpt_code("127.0.0.1", "u@example.com") == 250, "127.0.0.1 accepted")
    out = nmap_relay(server.port)
    assert "Server is an open relay" in out, out


def test_swaks_refused_and_accepted_relay(server) -> None:
    refused = swaks(server.port, "127.0.0.2", "--to", "user@far.example", "--quit-after", "RCPT")
    assert "<** 550 5.7.1 Relaying denied" in refused.stdout, refused.stdout
    server.run("addsmtple", "*ACCEPT", "INTNETADR('127.0.0.4')")
    eventually(lambda: server.rcpt_code("127.0.0.4", "u@far.example") == 250, "127.0.0.4 accepted")
    accepted = swaks(server.port, "127.0.0.4", "--to", "user@far.example")
    assert accepted.returncode == 0, accepted.stdout
    assert "<-  250 2.0.0 Ok: queued as" in accepted.stdout
    # A local recipient is not a relay: swaks from the refused client delivers it.
    local = swaks(server.port, "127.0.0.2", "--to", "postmaster")
    assert local.returncode == 0 and "queued as" in local.stdout
