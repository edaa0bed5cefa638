"""TSTSMTPRLY, and WRKSMTPLE's F8: what the server would answer a client, step by step.

The decision is the server's own, made by the code the server runs: the policy compiled
by the server's policy loader (``qtsmtp.config.policyload.compile_policy``) from the
stored attributes and lists, with the system name and own addresses the server would use
(``qtsmtp.config.settings``); ``RelayPolicy.check_connect`` for the connection (the reject
lists); each recipient read as the server reads RCPT TO (the server's SMTP parser, then
``canonical_recipient``, their refusals as the server words them) and judged by
``RelayPolicy.check_recipient``; the
recipient limit MAXRCPT as the server applies it. The server accepts any HELO name and
any sender (the relay decision belongs to each recipient, and bounces must get through),
and so does this test, saying so. What it does not ask: the checks that depend on the
network or on programs of the installation (DNS blocklists, connection limits, exit
programs, AUTH).

The compiled policy is kept until a member it was compiled from changes, so the F8
display answers at once after the first test.
"""

from __future__ import annotations

import ipaddress
import sys
from dataclasses import dataclass
from email._header_value_parser import get_angle_addr
from email.errors import HeaderParseError

from qtsmtp.cl.binder import Bound
from qtsmtp.config import policyload
from qtsmtp.config.address import AddressRefused, canonical_recipient
from qtsmtp.config.policy import Decision
from qtsmtp.config.settings import load_settings
from qtsmtp.messages import CLError, Message
from qtsmtp.store.root import data_root

MAX_RECIPIENTS = 100        # the server's limit when MAXRCPT is not a number

_cache: dict = {}


@dataclass
class Step:
    asked: str              # Connection, HELO, MAIL FROM, RCPT TO
    value: str              # the client, the name, the sender, the recipient
    reply: str              # the SMTP reply the server would give
    explanation: str
    allowed: bool


def compiled_policy():
    """The server's compiled policy for the data root (CLError TCP2670 on a bad member)."""
    root = data_root().resolve()
    keys = policyload.stat_keys(policyload.watched_members(root))
    cached = _cache.get(root)
    if cached is not None and cached[0] == keys:
        return cached[1]
    settings = load_settings(root)
    compiled = policyload.compile_policy(root, settings.system_name, settings.local_addresses)
    _cache[root] = (keys, compiled)
    return compiled


def valid_client(text: str) -> str | None:
    """The client address as the server sees it (brackets taken off), or None."""
    address = text.strip().strip("[]")
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return None
    return address


def decide(client: str, recipients: list[str], helo: str = "", sender: str | None = None) -> list[Step]:
    """The steps of a session from ``client``: the connection, HELO and MAIL FROM when
    given, then each recipient; after a refused connection nothing else is asked."""
    compiled = compiled_policy()
    policy = compiled.policy
    connect = policy.check_connect(client)
    steps = [Step("Connection", client, connect.reply, connect.explain(), connect.allowed)]
    if not connect.allowed:
        steps.append(Step("Recipient", ", ".join(recipients), "-",
                          "not asked: the server closes the connection first", False))
        return steps
    if helo:
        steps.append(Step("HELO", helo, "250", "the server takes any HELO name; it is "
                          "only written in the Received header", True))
    if sender is not None:
        steps.append(Step("MAIL FROM", f"<{sender}>", "250 2.1.0 Sender ok",
                          "the sender is never a reason to refuse: the relay decision "
                          "belongs to each recipient", True))
    limit = compiled.attributes.get("MAXRCPT", MAX_RECIPIENTS)
    limit = limit if isinstance(limit, int) else MAX_RECIPIENTS
    for number, recipient in enumerate(recipients):
        if number >= limit:
            steps.append(Step("Recipient", recipient, "452 4.5.3 Too many recipients",
                              f"MAXRCPT({limit}): the server takes no more recipients "
                              "in one message", False))
            continue
        address, refusal = rcpt_argument(recipient)
        if address is None:
            steps.append(Step("Recipient", recipient, refusal,
                              "the server's SMTP layer refuses the address before the relay "
                              "policy is asked", False))
            continue
        try:
            decision = policy.check_recipient(client, canonical_recipient(address))
        except AddressRefused as refused:
            decision = Decision.address_refused(refused, client, address)
        steps.append(Step("Recipient", recipient, decision.reply, decision.explain(),
                          decision.allowed))
    return steps


def rcpt_argument(text: str) -> tuple[str | None, str]:
    """RCPT TO's argument as the server's SMTP layer reads it, before the handler sees
    it: (the address, "") or (None, the reply that refuses it). ``text`` is what the
    client writes after RCPT TO: (angle brackets added when it has none).

    The server job reads it with aiosmtpd's parser (the email package's address
    grammar, which its _getaddr calls; qtsmtp.server.protocol). That module imports
    asyncio and aiosmtpd, which a command and a panel do without: this calls the same
    email-package functions the same way (tests/panels/test_relay_command.py checks the
    two agree, on a table and on generated addresses)."""
    arg = text.strip()
    if not arg.startswith("<"):
        arg = f"<{arg}>"
    try:
        parsed, rest = get_angle_addr(arg)
    except HeaderParseError:
        return None, "553 5.1.3 Error: malformed address"
    try:
        address = parsed.addr_spec
    except Exception as error:      # the parser fails on some addresses (the server too)
        return None, f"500 Error: ({type(error).__name__}) {error}"
    if not address:
        return None, "501 Syntax: RCPT TO: <address> [SP <mail-parameters>]"
    if rest.strip():
        return None, "555 RCPT TO parameters not recognized or not implemented"
    return address, ""


def tstsmtprly(bound: Bound) -> list[Message]:
    """Processing program of TSTSMTPRLY: the steps on standard output; TCP2680 when the
    server would take the message for every recipient, else escape TCP2681 or TCP2682
    (exit status 1)."""
    client = valid_client(bound["CLIENT"])
    if client is None:
        raise CLError([Message("TCP1901", bound["CLIENT"]), Message("CPF0001", "TSTSMTPRLY")])
    recipients = [str(r) for r in bound["RCPT"]]
    helo = "" if bound["HELO"] == "*NONE" else bound["HELO"]
    sender = {"*NONE": None, "*NULL": ""}.get(bound["SENDER"], bound["SENDER"])
    steps = decide(client, recipients, helo, sender)
    for step in steps:
        sys.stdout.write(f"{step.asked + ' ' + step.value:<48} {step.reply}\n")
        sys.stdout.write(f"    {step.explanation}\n")
    refused = [s for s in steps if not s.allowed]
    if not refused:
        return [Message("TCP2680", client, len(recipients))]
    if steps[0].allowed:
        raise CLError([Message("TCP2681", client, len(refused), len(recipients))])
    raise CLError([Message("TCP2682", client)])
