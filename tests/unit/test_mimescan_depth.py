"""The mail filter scanner on a message built to make it work hard: MAX_DEPTH nested
multiparts, then a body of lines that begin with "--" but are no boundary. Before, each
such line was compared with the boundary of every open level (1,000), so a 1 MB message
of them kept the server job's event loop busy for 14-22 s of CPU (a 10 MB one for
minutes), every other session stalled. The work is counted, not timed: the looks at the
boundary stack."""

from __future__ import annotations

from qtsmtp.config import mimescan
from qtsmtp.config.mimescan import MimeScanner


class CountedStack(list):
    """The scanner's boundary stack, counting each look at a level."""

    looks = 0

    def __getitem__(self, index):
        CountedStack.looks += 1
        return super().__getitem__(index)


def deep_message(depth: int, dash_lines: int) -> bytes:
    head = b"From: a@b.example\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n"
    nest = b"".join(b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i, i + 1)
                    for i in range(depth - 1))
    inner = (b"--b%d\r\nContent-Type: application/x-msdownload; name=evil.exe\r\n\r\n"
             % (depth - 1))
    return head + nest + inner + b"--x\r\n" * dash_lines + b"--b0--\r\n"


def test_lines_that_are_no_boundary_cost_no_look_at_each_level():
    depth, dash_lines = 200, 2000
    scanner = MimeScanner()
    scanner._boundaries = CountedStack()
    CountedStack.looks = 0
    data = deep_message(depth, dash_lines)
    for start in range(0, len(data), 4096):
        scanner.feed(data[start:start + 4096])
    facts = scanner.close()
    # The attachment inside is still found (at the innermost level), and the closing
    # boundary of the outermost multipart is still seen.
    assert facts.parts[-1] == mimescan.Part("application/x-msdownload", "evil.exe", depth)
    assert len(facts.parts) == depth + 1
    # A look per level opened and closed, not one per level for each "--x" line
    # (200 x 2000 = 400,000 before).
    assert CountedStack.looks <= 4 * depth, CountedStack.looks
