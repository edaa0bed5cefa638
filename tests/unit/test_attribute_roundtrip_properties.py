"""Issue 16 item 6, CHGSMTPA: for every generated name or text value of the attributes
that once bricked CONFIG (SBSD('a b'), TBLSMTPOUT('a b')), either the command refuses it
and CONFIG stays as it was, or the reader (DSPSMTPA, STRTCPSVR) reads CONFIG back, the
attribute holding what was asked."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from qtsmtp.config import attributes
from qtsmtp.programs.runner import run_text

PARAMETERS = ("SBSD", "TBLSMTPOUT", "TBLSMTPIN", "USRIDPFX", "ADDRESS", "USRIDDELIM")
# Line breaks are not in a value: a command given on several lines is CL source, whose
# lines are joined with a blank (cl.command.statement), so 'a<LF>b' means 'a b'.
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
values = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",),
                               exclude_characters=LINE_BREAKS), min_size=1, max_size=12)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(PARAMETERS), values)
@example("SBSD", "a b")
@example("TBLSMTPOUT", "a b")
@example("TBLSMTPIN", "x'y")
@example("USRIDPFX", "a\x01")
def test_chgsmtpa_stores_only_what_its_reader_reads_back(tmp_path, monkeypatch, keyword, value):
    monkeypatch.setenv("QTSMTP_ROOT", str(tmp_path))
    member = attributes.attributes_member(tmp_path)
    before = member.read_bytes()
    quoted = "'" + value.replace("'", "''") + "'"
    outcome = run_text(f"CHGSMTPA {keyword}({quoted})")
    if outcome.failed:
        assert member.read_bytes() == before, outcome.messages
        return
    stored = attributes.load(tmp_path)[keyword]          # the reader: no TCP2670
    shown = stored.split("/")[-1] if keyword in ("SBSD", "TBLSMTPOUT", "TBLSMTPIN") else stored
    assert shown == value
