"""A plain-function exit that has shown it is fast runs on the server job's event loop
(qtsmtp.server.exitloop), on a real server over SMTP: it moves there after its probation
(TCP6088), one that blocks there is stopped, gets its default action and goes back to
its threads for good (TCP6087); one that says it may block never moves; and a DISCONNECT
past its budget is logged as any call past its budget (TCP6084)."""

from __future__ import annotations

from support import eventually
from test_sec_exits_control import calls, traced_server
from test_sec_exits_e2e import register

from qtsmtp.server.exitloop import PROBATION_CALLS

LOOP = "MainThread"


def threads_of(trace, program: str) -> list[str]:
    return [record[3] for record in calls(trace, program)]


def make_calls(server, trace, program: str, until, what: str) -> None:
    """MAIL and RCPT in one session, over and over, until ``until()`` (bounded)."""
    client = server.smtp()
    try:
        def more():
            for _ in range(20):
                assert client.mail("someone@client.test")[0] == 250
                assert client.rcpt("postmaster@localhost")[0] == 250
                client.rset()
            return until()
        eventually(more, what, limit=120, pause=0)
    finally:
        client.quit()


def test_a_fast_function_moves_to_the_loop_and_back_to_its_threads_when_it_blocks(
        new_server, tmp_path):
    server, trace = traced_server(new_server, tmp_path)
    register(server, 1, "exitsamples:where_run", "TIMEOUT(60000)", "DFTACN(*REJECT)")
    server.start("SVRJOBS(1)")
    make_calls(server, trace, "where",
               lambda: " TCP6088 " in server.joblog_text("QTSMTPSRVP")
               and threads_of(trace, "where")[-1] == LOOP,
               "the program moved to the event loop")
    ran = threads_of(trace, "where")
    first_on_loop = ran.index(LOOP)
    assert first_on_loop >= PROBATION_CALLS
    assert all(name != LOOP for name in ran[:first_on_loop])
    assert all(name == LOOP for name in ran[first_on_loop:])

    # It blocks one day: stopped on the loop (not after its 30 s, nor its 60 s budget),
    # with its default action, and its calls go back to its threads.
    client = server.smtp()
    try:
        code, text = client.mail("stall@client.test")
        assert (code, text) == (451, b"4.7.1 Try again later")
        log = server.joblog_shows(" TCP6087 ", "QTSMTPSRVP")
        assert "on the event loop" in log.split(" TCP6020 ", 1)[1].splitlines()[0]
        assert client.mail("someone@client.test")[0] == 250
    finally:
        client.quit()
    assert threads_of(trace, "where")[-1].startswith("exit-")
    # For good: many more fast calls and it stays in its threads.
    before = len(calls(trace, "where"))
    make_calls(server, trace, "where", lambda: len(calls(trace, "where")) > before + 2 * PROBATION_CALLS,
               "more calls made")
    assert all(name != LOOP for name in threads_of(trace, "where")[before:])
    assert server.joblog_text("QTSMTPSRVP").count(" TCP6088 ") == 1


def test_a_function_that_says_it_may_block_stays_in_its_threads(new_server, tmp_path):
    server, trace = traced_server(new_server, tmp_path)
    register(server, 1, "exitsamples:says_it_may_block")
    server.start("SVRJOBS(1)")
    make_calls(server, trace, "may_block",
               lambda: len(calls(trace, "may_block")) > 2 * PROBATION_CALLS, "calls made")
    assert all(name.startswith("exit-") for name in threads_of(trace, "may_block"))
    assert " TCP6088 " not in server.joblog_text("QTSMTPSRVP")


def test_a_disconnect_past_its_budget_is_logged(new_server, tmp_path):
    server, _ = traced_server(new_server, tmp_path)
    register(server, 1, "exitsamples:slow_goodbye", "TIMEOUT(200)")
    register(server, 2, "exitsamples:slow_goodbye_async", "TIMEOUT(200)")
    server.start("SVRJOBS(1)")
    client = server.smtp()
    assert client.mail("someone@client.test")[0] == 250
    client.quit()

    def both_said():
        lines = [line for line in server.joblog_text("QTSMTPSRVP").splitlines()
                 if " TCP6084 " in line and " DISCONNECT " in line]
        return len(lines) == 2 and lines
    lines = eventually(both_said, "both DISCONNECT calls past their budget logged")
    assert any("exitsamples:slow_goodbye number 1 " in line for line in lines)
    assert any("exitsamples:slow_goodbye_async number 2 " in line for line in lines)
