"""Local recipients over real SMTP: only the users of the SMTP directory (ADDUSRSMTP, its
aliases) and postmaster receive mail here; anyone else at a local domain is refused at
RCPT with 550 5.1.1, and ALIASDMN domains are local for the relay decision too."""

from __future__ import annotations

import os
from pathlib import Path

from support import eventually

FAR_CLIENT = "127.0.9.9"           # in no list: may not relay


def _code(server, rcpt: str) -> tuple[int, bytes]:
    client = server.smtp(FAR_CLIENT)
    try:
        assert client.mail("sender@client.test")[0] == 250
        return client.rcpt(rcpt)
    finally:
        client.quit()


def _sysname(server) -> str:
    client = server.smtp(FAR_CLIENT)
    try:
        return client.ehlo_resp.decode().split()[0]     # the greeting's host: SYSNAME
    finally:
        client.quit()


def test_only_users_of_the_directory_and_postmaster_receive(server_root):
    server = server_root
    server.run("chgsmtpa", "SYSNAME('sys.example') ALIASDMN((1 'alias.example'))")
    server.run("addsmtple", "*DOMAIN", "HOSTNAME(corp.example)")
    server.start("SVRJOBS(2)")
    assert _code(server, "postmaster") == (250, b"2.1.5 Recipient ok")
    for domain in ("sys.example", "corp.example", "alias.example"):
        assert _code(server, f"PostMaster@{domain}")[0] == 250
        assert _code(server, f"joe@{domain}") == (550, b"5.1.1 No such user here")
    server.run("addusrsmtp", "JOE", "ALIAS('joe.smith')")
    server.run("addusrsmtp", "ANN", "DOMAIN(corp.example)")
    for domain in ("sys.example", "corp.example", "alias.example"):
        # *DFT: every local domain; the profile name and the alias, in any case.
        assert _code(server, f"joe@{domain}")[0] == 250
        assert _code(server, f"Joe.Smith@{domain}")[0] == 250
    assert _code(server, "ann@corp.example")[0] == 250
    assert _code(server, "ann@sys.example")[0] == 550       # her domain only
    server.run("rmvusrsmtp", "JOE")
    assert _code(server, "joe@sys.example")[0] == 550
    server.joblog_shows("recipient refused: domain sys.example is a name of this system, "
                        "but no user of the SMTP directory is joe")


def test_alias_domains_are_local_for_the_relay_decision(server):
    # A client that may not relay: a domain is local only once ALIASDMN names it.
    assert _code(server, "postmaster@branch.example") == (550, b"5.7.1 Relaying denied")
    server.run("chgsmtpa", "ALIASDMN((1 'branch.example'))")
    assert _code(server, "postmaster@branch.example")[0] == 250
    server.run("chgsmtpa", "ALIASDMN(*NONE)")
    assert _code(server, "postmaster@branch.example")[0] == 550


def _snapshot(root: Path) -> dict[str, int]:
    """Every file and directory under the root, with its size, but the job logs, which
    grow with every session by design."""
    out = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(directory, name)
            if "joblog" in path.parts:
                continue
            out[str(path.relative_to(root))] = 0 if path.is_dir() else path.stat().st_size
    return out


def test_directory_harvest_gets_550_and_leaves_nothing_on_disk(server):
    before = _snapshot(server.root)
    sysname = _sysname(server)
    client = server.smtp(FAR_CLIENT)
    try:
        assert client.mail("harvester@client.test")[0] == 250
        replies = {client.rcpt(f"guess{n}@{sysname}") for n in range(1000)}
        assert replies == {(550, b"5.1.1 No such user here")}
        code, _ = client.docmd("DATA")
        assert code == 503                              # no valid recipient: no message
    finally:
        client.quit()
    server.joblog_shows("no user of the SMTP directory is guess999")
    after = _snapshot(server.root)
    # Job records come and go with the jobs (their sockets, their stat lines); nothing
    # else may: no mailbox, no queue file.
    changed = {k for k in before.keys() ^ after.keys() if not k.startswith("QSYSWRK/jobs")}
    assert not changed, changed
    mail = server.root / "mail"
    assert not mail.exists() or not any(mail.iterdir())
    eventually(lambda: not server.queued(), "an empty queue")
