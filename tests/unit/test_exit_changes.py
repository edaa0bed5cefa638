"""What a server job says when the exit registration changes (server.exits.changes): one
message per program that became active, was held, released, replaced or removed."""

from __future__ import annotations

from dataclasses import replace

from qtsmtp.config.exitreg import HELD, ExitRegistration, parse_registry, registry_text
from qtsmtp.server.exits import changes

ONE = ExitRegistration("QIBM_QTMS_SMTP_EXIT", "SMTP0100", 1, "site.a:check", 2000, "*CONTINUE", "")
TWO = replace(ONE, number=2, program="/usr/bin/policy --serve")


def test_each_kind_of_change_has_its_message():
    assert changes([], [ONE, replace(TWO, status=HELD)]) == [
        ("TCP6080", "site.a:check", 1), ("TCP6081", "/usr/bin/policy --serve", 2)]
    assert changes([ONE, TWO], [replace(ONE, status=HELD), TWO]) == [
        ("TCP6081", "site.a:check", 1)]
    assert changes([replace(ONE, status=HELD)], [ONE]) == [("TCP6082", "site.a:check", 1)]
    assert changes([ONE], [replace(ONE, program="site.b:check")]) == [
        ("TCP6083", 1, "site.b:check")]
    assert changes([ONE], [replace(ONE, threads=4)]) == [("TCP6083", 1, "site.a:check")]
    assert changes([ONE, TWO], [TWO]) == [("TCP6085", "site.a:check", 1)]
    assert changes([ONE, TWO], [ONE, TWO]) == []


def test_records_of_seven_fields_read_as_released_with_the_default_threads():
    old = "\t".join(["QIBM_QTMS_SMTP_EXIT", "SMTP0100", "1", "site.a:check", "2000",
                     "*CONTINUE", ""]) + "\n"
    [read] = parse_registry(old)
    assert read == ONE and not read.held and read.threads == 16
    held = replace(ONE, status=HELD, threads=3)
    assert parse_registry(registry_text([held])) == [held]
