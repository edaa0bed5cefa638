"""Issue 16 item 6: members that hold what no command writes (a 100 MB line, NUL and ESC)
are refused by name and record, in bounded memory, and never reach a log or a screen raw.
"""

from __future__ import annotations

import json
import subprocess
import sys

from support import new_library, script

# Runs a command and prints its exit status and the largest resident set (KiB) of any
# process it waited for: strtcpsvr waits for the supervisor it submitted.
_MEASURED = """
import json, resource, subprocess, sys
code = subprocess.run(sys.argv[1:], capture_output=True).returncode
print(json.dumps([code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))
"""


def _root(tmp_path):
    root = new_library(tmp_path / "root")
    env = {"QTSMTP_ROOT": str(root), "PATH": "/usr/bin:/bin"}
    subprocess.run([script("chgsmtpa"), "PORT(1)"], env=env, check=True, capture_output=True)
    return root, env


def test_a_100_mb_one_line_member_stops_the_start_in_bounded_memory(tmp_path) -> None:
    root, env = _root(tmp_path)
    member = root / "QUSRSYS" / "QATMADRLST" / "ACCEPTRLY"
    with open(member, "wb") as f:
        for _ in range(100):
            f.write(b"1" * (1 << 20))
        f.write(b"\n")
    measured = subprocess.run([sys.executable, "-c", _MEASURED, script("strtcpsvr"),
                               "SERVER(*SMTP) SVRJOBS(1)"], env=env, capture_output=True,
                              text=True, timeout=120)
    code, rss_kib = json.loads(measured.stdout)
    assert code != 0
    assert rss_kib < 256 * 1024, f"{rss_kib} KiB"        # was 1 GB: the line read whole
    logs = list((root / "QSYSWRK" / "joblog").glob("*.log"))
    text = "".join(p.read_text() for p in logs)
    assert "TCP2670 Member ACCEPTRLY" in text and "at record 1" in text
    assert "more than 4096 bytes longer than the 1024 characters" in text
    assert sum(p.stat().st_size for p in logs) < 64 * 1024


def test_control_bytes_of_a_member_reach_neither_the_screen_nor_the_job_log(tmp_path) -> None:
    root, env = _root(tmp_path)
    member = root / "QUSRSYS" / "QATMADRLST" / "ACCEPTRLY"
    member.write_bytes(b"10.1.1.1 255.255.255.255\n10.\x1b[2J\x00\x07\xff" + b"9" * 900 + b"\n")
    start = subprocess.run([script("strtcpsvr"), "SERVER(*SMTP) SVRJOBS(1)"], env=env,
                           capture_output=True, timeout=120)
    assert start.returncode != 0
    add = subprocess.run([script("addsmtple"), "*ACCEPT INTNETADR('10.2.2.2')"], env=env,
                         capture_output=True, timeout=60)
    logs = b"".join(p.read_bytes() for p in (root / "QSYSWRK" / "joblog").glob("*.log"))
    for shown in (start.stdout + start.stderr, add.stdout + add.stderr, logs):
        assert b"record 2" in shown
        assert not any(byte in shown for byte in (b"\x1b", b"\x00", b"\x07", b"\xff")), shown[:300]
        assert len(shown) < 8192
    assert b"\\x1b[2J\\x00\\x07\\xff" in logs
