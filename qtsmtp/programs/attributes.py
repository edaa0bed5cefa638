"""Processing programs of CHGSMTPA and DSPSMTPA."""

from __future__ import annotations

import ipaddress
import sys

from qtsmtp.cl.binder import Bound
from qtsmtp.cl.charset import is_ascii_digits
from qtsmtp.cl.definition import Parm
from qtsmtp.cl.definition import load as load_definition
from qtsmtp.config import attributes, attrstatus
from qtsmtp.config.entries import domain_name
from qtsmtp.jobs.notify import confirm_change
from qtsmtp.messages import Message, escape
from qtsmtp.store import journal
from qtsmtp.store.root import data_root

SAME = "*SAME"


def chgsmtpa(bound: Bound) -> list[Message]:
    changes = {}
    for parm in bound.command.parms:
        value = bound[parm.keyword]
        if value != SAME:
            changes[parm.keyword] = (parm, value)
    _check_hosts(changes)
    root = data_root()
    member = attributes.attributes_member(root)
    with member.locked():
        current = attributes.parse(member, member.read_text())
        for keyword, (parm, value) in changes.items():
            current[keyword] = _stored(parm, value, current[keyword])
            attributes.check_stored(keyword, current[keyword])
        member.replace(attributes.dump(current), journal.REPLACE,
                       changes={keyword: current[keyword] for keyword in changes})
    # Returns once every running server job applies it (or names the one that did not).
    messages = attrstatus.diagnostics({keyword: current[keyword] for keyword in changes},
                                      attributes.SHIPPED)
    messages += confirm_change(root) + [Message("TCP2662")]
    if "ALWRLY" in changes and changes["ALWRLY"][1] == "*ALL":
        messages.append(Message("TCP2663"))
    return messages


def _stored(parm: Parm, value, current):
    """The TOML form of a bound value; *SAME elements keep what was stored."""
    if value == "*DFT" and parm.keyword in attributes.DFT_VALUES:
        return attributes.DFT_VALUES[parm.keyword]
    if parm.quals is not None and isinstance(value, tuple):
        obj, lib = value
        return f"{lib}/{obj}"
    if parm.elems is not None and isinstance(value, tuple):
        old = current if isinstance(current, list) else attributes.SHIPPED[parm.keyword]
        return [o if v == SAME else v for v, o in zip(value, old)]
    if isinstance(value, list):
        return [list(v) if isinstance(v, tuple) else v for v in value]
    return value


def _check_hosts(changes: dict) -> None:
    """Host values are checked here, where a bad one can still be refused."""
    def host(keyword: str, text: str, port_allowed: bool = False):
        name, port = text, ""
        if port_allowed and text.startswith("[") and "]:" in text:
            name, port = text[1:].split("]:", 1)       # [IPv6]:port (qtsmtp-queue(5))
        elif port_allowed and text.count(":") == 1:
            name, port = text.split(":")
        if port and not (is_ascii_digits(port) and 1 <= int(port) <= 65535):
            raise escape("TCP1905", text, f"port {port} is not 1 to 65535")
        try:
            ipaddress.ip_address(name.strip("[]"))
        except ValueError:
            domain_name(name)

    for keyword in ("MAILROUTER", "FWDHUBSVR"):
        if keyword in changes and changes[keyword][1] != "*NONE":
            host(keyword, changes[keyword][1], port_allowed=True)
    if "SYSNAME" in changes and changes["SYSNAME"][1] != "*DFT":
        domain_name(changes["SYSNAME"][1])
    for keyword in ("RBLSVR",):
        if keyword in changes and isinstance(changes[keyword][1], list):
            for name in changes[keyword][1]:
                domain_name(name)
    if "ALIASDMN" in changes and isinstance(changes["ALIASDMN"][1], list):
        for _, name in changes["ALIASDMN"][1]:
            if name != "*NONE":
                domain_name(name)


# --- DSPSMTPA ------------------------------------------------------------------------

def dspsmtpa(bound: Bound) -> list[Message]:
    sys.stdout.write(display_text(attributes.load(data_root())))
    return []


def display_text(values: dict) -> str:
    """The attributes as an IBM display: prompt text, dot leaders, value."""
    chg = load_definition("CHGSMTPA")
    lines = ["                          Display SMTP Attributes", ""]
    for parm in chg.parms:
        label = parm.prompt
        leader = " ." * ((48 - len(label)) // 2)
        value = _shown(values[parm.keyword])
        if not attrstatus.acts(parm.keyword):
            value += "  " + attrstatus.NO_EFFECT_MARK
        lines.append(f" {label}{' ' if len(label) % 2 else ''}{leader} :   {value}")
    # Within 80 columns: the report is read on a 24x80 display too (Command Entry).
    lines += ["", f" {attrstatus.NO_EFFECT_MARK}: stored for IBM i scripts; not acted on here, "
                  "see chgsmtpa(1)."]
    return "\n".join(lines) + "\n"


def _shown(value) -> str:
    if isinstance(value, list):
        return " ".join(f"({_shown(v)})" if isinstance(v, list) else str(v) for v in value)
    return str(value)
