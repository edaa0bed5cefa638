"""The security commands as a user runs them: ADDSMTPAUT/CHGSMTPAUT/RMVSMTPAUT,
ADDEXITPGM/RMVEXITPGM/WRKEXITPGM, ADDSMTPSBM/RMVSMTPSBM/WRKSMTPSBM."""

from __future__ import annotations

import stat

from qtsmtp.config.credentials import check_password, parse_records


def test_auth_users_are_hashed_in_a_0600_member(cl, qroot):
    r = cl("addsmtpaut", "alice", input="s3cret pass\n")
    assert (r.returncode, r.stdout) == (0, "TCP6004 SMTP authentication user alice added.\n")
    member = qroot / "QUSRSYS" / "QATMSMTPC" / "AUTH"
    assert stat.S_IMODE(member.stat().st_mode) == 0o600
    text = member.read_text()
    assert "s3cret" not in text
    assert check_password("s3cret pass", parse_records(text)["alice"])
    again = cl("addsmtpaut", "alice", input="x\n")
    assert again.returncode == 1 and "TCP6003" in again.stderr
    assert cl("chgsmtpaut", "alice", input="new one\n").returncode == 0
    assert check_password("new one", parse_records(member.read_text())["alice"])
    assert "TCP6005" in cl("chgsmtpaut", "nobody", input="x\n").stderr
    assert cl("addsmtpaut", "USER('bad name')", "PASSWORD(x)").returncode == 1
    assert "TCP6002" in cl("addsmtpaut", "bob", input="\n").stderr
    assert cl("rmvsmtpaut", "alice").stdout.startswith("TCP6007")
    assert parse_records(member.read_text()) == {}


def test_exit_program_registration(cl, qroot):
    point = ["QIBM_QTMS_SMTP_EXIT", "SMTP0100"]
    assert cl("addexitpgm", *point, "*LOW", "PGM('site.exits:check')").returncode == 0
    r = cl("addexitpgm", *point, "1", "PGM('site.exits:other')")
    assert r.returncode == 1 and "TCP6013" in r.stderr
    r = cl("addexitpgm", *point, "1", "PGM('site.exits:other')", "REPLACE(*YES)", "TIMEOUT(500)")
    assert r.returncode == 0
    assert cl("addexitpgm", *point, "*HIGH", "PGM('policy:inet:127.0.0.1:10023')",
              "DFTACN(*REJECT)").stdout.startswith("TCP6015")
    assert "TCP6011" in cl("addexitpgm", *point, "*LOW", "PGM('not a program')").stderr
    assert "TCP6010" in cl("addexitpgm", "QIBM_QTMS_OTHER", "SMTP0100", "1", "PGM('a:b')").stderr
    listed = cl("wrkexitpgm")
    assert "site.exits:other" in listed.stdout and "500ms" in listed.stdout
    assert "policy:inet:127.0.0.1:10023" in listed.stdout and "TCP6018 2" in listed.stdout
    assert "TCP6016" in cl("rmvexitpgm", *point, "9").stderr
    assert cl("rmvexitpgm", *point, "*ALL").stdout.startswith("TCP6017 2")
    for n in range(16):
        assert cl("addexitpgm", *point, "*LOW", f"PGM('m:f{n}')").returncode == 0
    assert "TCP6014" in cl("addexitpgm", *point, "*LOW", "PGM('m:f99')").stderr


def test_submission_profiles(cl, qroot):
    assert cl("addsmtpsbm", "PRF('QTSMTP.SUBMIT.**')", "ACCESS(*DENY)").returncode == 0
    assert cl("addsmtpsbm", "PRF('qtsmtp.submit.staff.*')", "ACCESS(*ALLOW)").returncode == 0
    assert "TCP6042" in cl("addsmtpsbm", "PRF('QTSMTP.SUBMIT.**')", "ACCESS(*ALLOW)").stderr
    assert "TCP6041" in cl("addsmtpsbm", "PRF('OTHER.THING')", "ACCESS(*ALLOW)").stderr
    assert "TCP6040" in cl("addsmtpsbm", "PRF('A.**.B')", "ACCESS(*ALLOW)").stderr
    listed = cl("wrksmtpsbm")
    assert "QTSMTP.SUBMIT.STAFF.*" in listed.stdout and "TCP6046 2" in listed.stdout
    assert "TCP6044" in cl("rmvsmtpsbm", "PRF('QTSMTP.X')").stderr
    assert cl("rmvsmtpsbm", "PRF('QTSMTP.SUBMIT.**')").returncode == 0
