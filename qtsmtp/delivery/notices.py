"""Which delivery status notifications a message's sender gets, and when.

RFC 3461 lets each recipient's NOTIFY ask for SUCCESS, FAILURE and DELAY, or NEVER; a
recipient that asked nothing gets failures and delays. Here, from the queue file's
envelope (qtsmtp-queue(5)) and the CHGSMTPA attributes:

- failed: a 5xx, or a 4xx once the retry schedule is spent;
- delayed: once per recipient, when it is still waiting DLYNFY minutes after arrival;
- delivered: at final delivery into a local mailbox, when SUCCESS was asked;
- relayed: passed to a next hop that does not offer DSN, when SUCCESS was asked (a hop
  that offers DSN took NOTIFY and ORCPT over, and reports itself);
- NFYDLVRY: (responsible person, notify the sender). *NO as the second element sends no
  report to any sender; the responsible person gets a copy of every failure report.

Whether the sender may have the report at all (the client that named it was trusted for
it) is the engine's question: ``DeliveryEngine._notify_sender``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from qtsmtp.delivery import dsn, schedule
from qtsmtp.delivery.smtpclient import Envelope, Reply
from qtsmtp.queue.dsnfields import DELAY, FAILURE, SUCCESS, wants

_ASKS = {dsn.FAILED: FAILURE, dsn.DELAYED: DELAY, dsn.DELIVERED: SUCCESS, dsn.RELAYED: SUCCESS}


@dataclass(frozen=True)
class Policy:
    to_senders: bool = True           # NFYDLVRY's "notify the sender"
    responsible: str = ""             # NFYDLVRY's responsible person, as an address
    delay_seconds: float | None = None

    @classmethod
    def from_attributes(cls, values: dict, system_name: str) -> Policy:
        setting = values.get("NFYDLVRY")
        person, to_senders = "", True
        if isinstance(setting, list):
            if setting and str(setting[0]).upper() != "*NONE":
                person = f"{str(setting[0]).lower()}@{system_name}"
            if len(setting) > 1:
                to_senders = str(setting[1]).upper() != "*NO"
        minutes = values.get("DLYNFY", 240)
        delay = minutes * schedule.minute_seconds() if isinstance(minutes, int) else None
        return cls(to_senders, person, delay)

    def delayed(self, envelope: dict, state, deferred: list[str]) -> list[dsn.Notice]:
        """The delay notices due now for recipients still waiting, once each: the state
        records the notice (``delay_noticed``) with the recipient."""
        if self.delay_seconds is None or not deferred:
            return []
        if time.time() - (arrival_epoch(envelope) or state.first_attempt) < self.delay_seconds:
            return []
        out = []
        for rcpt in deferred:
            record = state.recipients[rcpt]
            if record.get("delay_noticed"):
                continue
            record["delay_noticed"] = True
            if wants(notify_of(envelope, rcpt), DELAY):
                reply = record["reply"]
                code = reply.split(" ", 2)
                status = code[1] if len(code) > 1 and code[1][:2] == "4." else "4.0.0"
                out.append(dsn.Notice(rcpt, status, reply, record.get("host", ""), dsn.DELAYED,
                                      orcpt(envelope, rcpt)))
        return out


def notify_of(envelope: dict, recipient: str) -> list[str] | None:
    entry = (envelope.get("dsn") or {}).get(recipient)
    return entry.get("notify") if isinstance(entry, dict) else None


def orcpt(envelope: dict, recipient: str) -> str:
    entry = (envelope.get("dsn") or {}).get(recipient)
    return (entry.get("orcpt") or "") if isinstance(entry, dict) else ""


def asked_for(envelope: dict, notice: dsn.Notice) -> bool:
    return wants(notify_of(envelope, notice.recipient), _ASKS[notice.action])


def notice(envelope: dict, recipient: str, action: str, reply: Reply, host: str) -> dsn.Notice:
    return dsn.Notice(recipient, dsn.enhanced_status(reply.code, reply.text),
                      reply.line.replace("\n", " "), host, action, orcpt(envelope, recipient))


def success(envelope: dict, recipient: str, result) -> dsn.Notice | None:
    """The success notice a delivered recipient asked for: "delivered" into a local
    mailbox, "relayed" to a hop without DSN; None otherwise."""
    if not wants(notify_of(envelope, recipient), SUCCESS):
        return None
    if not result.host:
        return notice(envelope, recipient, dsn.DELIVERED, result.reply, "")
    if not result.dsn_passed_on:
        return notice(envelope, recipient, dsn.RELAYED, result.reply, result.host)
    return None


def outbound(envelope: dict, content: bytes) -> Envelope:
    """What the SMTP client passes on: SMTPUTF8 when the message needs it (a non-ASCII
    address or header; otherwise it goes without, the downgrade RFC 6531 allows when
    nothing needs it), RET, ENVID, each recipient's NOTIFY and ORCPT."""
    addresses = [envelope.get("sender", "")] + list(envelope.get("recipients", ()))
    utf8 = bool(envelope.get("smtputf8")) and (
        not all(a.isascii() for a in addresses) or not dsn.headers_of(content).isascii())
    entries = envelope.get("dsn") or {}
    return Envelope(
        utf8=utf8, ret=envelope.get("ret") or "", envid=envelope.get("envid") or "",
        notify={r: e["notify"] for r, e in entries.items() if isinstance(e, dict) and e.get("notify")},
        orcpt={r: e["orcpt"] for r, e in entries.items() if isinstance(e, dict) and e.get("orcpt")})


def arrival_epoch(envelope: dict) -> float:
    try:
        return datetime.fromisoformat(envelope.get("arrival", "")).timestamp()
    except (TypeError, ValueError):
        return 0.0
