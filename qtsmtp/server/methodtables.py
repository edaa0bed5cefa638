"""aiosmtpd's method tables, worked out once per protocol class and handler.

aiosmtpd 1.4.6's SMTP.__init__ builds, for every connection, three tables by inspection:

- ``_smtp_methods``: command name -> the protocol's bound ``smtp_*`` method;
- ``_auth_methods``: AUTH mechanism -> ``_AuthMechAttr(bound auth_* method, is_builtin)``,
  the protocol's own first, then the handler's (which win a name both have), less
  ``auth_exclude_mechanism``;
- ``_handle_hooks``: hook name -> the handler's bound ``handle_*`` method, and from its
  handle_EHLO the hook's form (``_ehlo_hook_ver``).

That is dir() and inspect.getmembers() over the protocol and the handler, twice each,
about 50 getattr() and a sort per connection: half of what making a session costs
(qtsmtp's session factory, in one process: 40 -> 20 us). Nothing in them changes
between two connections but what the protocol's methods are bound to. So RelaySMTP
lets aiosmtpd's constructor run with a handler that has nothing to find (``NOTHING``,
while the protocol's own dir() is empty too) and then sets the tables from ``tables()``,
kept per class, handler and excluded mechanisms: only the protocol's methods are bound
per connection. tests/unit/test_fast_session.py compares the result with the tables
aiosmtpd builds itself.
"""

from __future__ import annotations

import functools
import inspect
from types import MethodType
from typing import NamedTuple

from aiosmtpd.smtp import _AuthMechAttr


class _Nothing:
    """What RelaySMTP hands aiosmtpd's constructor as the handler: no hooks, no AUTH."""

    def __dir__(self) -> list[str]:
        return []


NOTHING = _Nothing()


class Tables(NamedTuple):
    commands: tuple          # (command, function), to bind to each protocol object
    auth: tuple              # (mechanism, function or bound method, is_builtin)
    hooks: dict              # shared: aiosmtpd only reads it
    ehlo_hook_ver: str | None


@functools.lru_cache(maxsize=64)
def tables(cls: type, handler, excluded: tuple[str, ...]) -> Tables:
    """The tables aiosmtpd would build for an object of ``cls`` (whose dir() gives the
    names it looks for) serving ``handler``, as aiosmtpd builds them."""
    names = [name for name in dir(cls) if name.startswith(("smtp_", "auth_"))]
    commands = tuple((name.replace("smtp_", ""), getattr(cls, name))
                     for name in names if name.startswith("smtp_"))
    auth: dict[str, tuple] = {}
    for owner_names, lookup, builtin in (
            (names, functools.partial(getattr, cls), True),
            (dir(handler), functools.partial(getattr, handler), False)):
        for name in sorted(owner_names):
            if name.startswith("auth_"):
                method = lookup(name)
                mechanism = getattr(method, "__auth_mechanism_name__",
                                    name.replace("auth_", "").replace("__", "-"))
                auth[mechanism] = (mechanism, method, builtin)
    for mechanism in excluded:
        auth.pop(mechanism, None)
    hooks = {name.replace("handle_", ""): getattr(handler, name)
             for name in dir(handler) if name.startswith("handle_")}
    ehlo = hooks.get("EHLO")
    if ehlo is None:
        version = None
    else:
        arguments = len(inspect.signature(ehlo).parameters)
        if arguments not in (4, 5):
            raise RuntimeError("Unsupported EHLO Hook")
        # The 4-argument form is aiosmtpd's deprecated one, which aiosmtpd's own build
        # warns about; no qtsmtp handler has it.
        version = "old" if arguments == 4 else "new"
    return Tables(commands, tuple(auth.values()), hooks, version)


def set_tables(protocol, handler, excluded) -> None:
    """Give ``protocol`` (whose SMTP.__init__ ran with NOTHING) the tables aiosmtpd would
    have built with ``handler``."""
    found = tables(type(protocol), handler, tuple(excluded or ()))
    protocol._smtp_methods = {name: MethodType(function, protocol)
                              for name, function in found.commands}
    protocol._auth_methods = {
        mechanism: _AuthMechAttr(MethodType(method, protocol) if builtin else method, builtin)
        for mechanism, method, builtin in found.auth}
    protocol._handle_hooks = found.hooks
    protocol._ehlo_hook_ver = found.ehlo_hook_ver
