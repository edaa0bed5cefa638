"""The email package's MIME parameter splitter, in linear time.

``email.message._parseparam`` splits a Content-Type or Content-Disposition value into
its parameters for ``Message.get_param``, ``get_filename`` and ``get_boundary``. In the
Pythons qtsmtp runs on (CPython gh-136063 fixes it in later releases) it takes time
quadratic in the value's length twice over: it copies the rest of the value after each
parameter, and for each semicolon inside a quoted string it counts the quotes from the
start again. A client controls those values: with the mail filters on, a server job
reads every part's file name and boundary as the message arrives (config.mimescan), and
one 240 KB ``Content-Type: text/plain; name="\\";\\";..."`` line took 13.8 s of the
job's CPU; the client job parses whole messages too (delivery.downgrade, delivery.dsn).

``parseparam`` gives the same list for every input (tests/unit/test_mimeparams.py checks
it against the package's own on generated values): the same walk, over indices instead of
copies, with the quote counts carried from one semicolon to the next. That is exact
because a window always ends at a semicolon, so no backslash-quote pair crosses from one
window into the next. ``install()`` puts it in the package's place (Message's methods look
the name up in their module at each call), once per process, from the modules that parse
what a client sent.
"""

from __future__ import annotations

import email.message

STDLIB_PARSEPARAM = email.message._parseparam


def parseparam(value) -> list[str]:
    """``email.message._parseparam(value)``, in time linear in its length."""
    s = ";" + str(value)
    size = len(s)
    found = []
    start = 0
    while s.startswith(";", start):
        start += 1
        end = s.find(";", start)
        if end > start:
            # Inside a quoted string while the quotes so far (less the escaped ones) are odd.
            quotes = s.count('"', start, end) - s.count('\\"', start, end)
            while quotes % 2:
                following = s.find(";", end + 1)
                if following < 0:
                    end = -1
                    break
                quotes += s.count('"', end, following) - s.count('\\"', end, following)
                end = following
        if end < 0:
            end = size
        part = s[start:end]
        if "=" in part:
            i = part.index("=")
            part = part[:i].strip().lower() + "=" + part[i + 1:].strip()
        found.append(part.strip())
        start = end
    return found


def install() -> None:
    email.message._parseparam = parseparam
