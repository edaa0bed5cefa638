"""CHGSMTPA ETRNCLT(*YES): when the client job starts, it asks its mail hub with ETRN
(RFC 1985) to send the mail the hub holds for this system: a system that was down, or
off line, collects what waited for it without waiting for the hub's next retry.

The hub is FWDHUBSVR, else MAILROUTER (the hosts this system sends through); the nodes
asked for are the system name and the ALIASDMN domains. It runs in a thread of its own,
bounded by a timeout, so a hub that does not answer never holds up delivery; its
replies go to the job log (TCP2744), whatever they are: ETRN is a request, and the mail
comes, or not, by the hub's own SMTP client.
"""

from __future__ import annotations

import smtplib
import threading

from qtsmtp.config.settings import alias_domains
from qtsmtp.delivery.routing import Routing, split_host_port

TIMEOUT_SECONDS = 30


def nodes(routing: Routing) -> list[str]:
    """The names this system takes mail for that a hub may hold mail for."""
    return list(dict.fromkeys([routing.system_name, *alias_domains(routing.values)]))


def wanted(routing: Routing) -> bool:
    return str(routing.values.get("ETRNCLT", "*NO")).upper() == "*YES"


def ask_hub(routing: Routing, log) -> None:
    """Send ETRN for every node to the hub, and log each reply (or why none came)."""
    hub = routing.hub or routing.router
    if not hub:
        log.send("TCP2744", "-", "no FWDHUBSVR or MAILROUTER", "no hub to ask")
        return
    host, port = split_host_port(hub)
    source = routing.source_address(":" in host)
    try:
        with smtplib.SMTP(host, port, local_hostname=routing.system_name,
                          timeout=TIMEOUT_SECONDS,
                          source_address=(source, 0) if source else None) as client:
            client.ehlo()
            for node in nodes(routing):
                code, text = client.docmd("ETRN", node)
                log.send("TCP2744", node, hub, f"{code} {text.decode('utf-8', 'replace')}")
    except (OSError, smtplib.SMTPException) as failure:
        log.send("TCP2744", "-", hub, f"no ETRN sent: {failure}")


def start(routing: Routing, log) -> threading.Thread | None:
    """ask_hub in a daemon thread when ETRNCLT(*YES); None otherwise."""
    if not wanted(routing):
        return None
    thread = threading.Thread(target=ask_hub, args=(routing, log), name="ETRNCLT", daemon=True)
    thread.start()
    return thread
