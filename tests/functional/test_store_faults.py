"""Issue 16 item 6: a command that cannot write all it must leaves the member as it was.

A full disk is made with RLIMIT_FSIZE: the kernel then writes what fits below the limit
and refuses the rest (EFBIG; SIGXFSZ ignored), the short write a nearly full disk gives,
for this process only. The member is filled by hand to just below the limit, so that the
record of the command is cut in the middle, as the issue's "192.168.10" was.
"""

from __future__ import annotations

import resource
import signal
import subprocess

import pytest

from support import new_library, script

SPARE = 11          # bytes the member may still grow: a record is cut after these


def _limited(limit: int):
    def set_limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return set_limit


def _run(root, name: str, text: str, limit: int | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([script(name), text], env={"QTSMTP_ROOT": str(root), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=60,
                          preexec_fn=_limited(limit) if limit else None)


@pytest.mark.parametrize("record", ["INTNETADR('192.168.100.200') SUBNETMASK('255.255.255.0')",
                                    "INTNETADR('10.3.148.0') SUBNETMASK('255.255.255.0')"])
def test_an_append_cut_short_leaves_the_member_as_it_was(tmp_path, record) -> None:
    root = new_library(tmp_path / "root")
    member = root / "QUSRSYS" / "QATMADRLST" / "ACCEPTRLY"
    lines = [f"10.{n // 250}.{n % 250}.0 255.255.255.0\n" for n in range(160)]
    member.write_text("".join(lines))
    # A first command makes the journal and the list index, unlimited.
    assert _run(root, "addsmtple", "*ACCEPT INTNETADR('172.16.0.1')").returncode == 0
    before = member.read_bytes()
    result = _run(root, "addsmtple", f"*ACCEPT {record}", limit=len(before) + SPARE)
    assert result.returncode != 0, result.stdout + result.stderr
    assert "TCP2691" in result.stderr and "ACCEPTRLY" in result.stderr
    assert "TCP2660" not in result.stdout
    assert member.read_bytes() == before
    # Nothing torn: every command on the list still works, and the entry can be added.
    assert _run(root, "addsmtple", f"*ACCEPT {record}").returncode == 0
    assert member.read_bytes().endswith(b" 255.255.255.0\n")
    assert member.read_bytes().count(b"\n") == before.count(b"\n") + 1
