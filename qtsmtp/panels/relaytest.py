"""WRKSMTPLE F8: ask for a client address and a recipient, show the relay decision.

The decision is the server's own, made as TSTSMTPRLY makes it (``qtsmtp.programs.
relaytest``: the server's policy loader, RelayPolicy, canonical_recipient); the compiled
policy is kept until a member it was compiled from changes.
"""

from __future__ import annotations

from qtsmtp.messages import CLError, Message
from qtsmtp.panels.panel import (
    Field,
    Panel,
    blank,
    heading,
    key_label,
    leader,
    put,
    wrap,
)
from qtsmtp.programs.relaytest import decide as decide_steps
from qtsmtp.programs.relaytest import valid_client


def decide(client: str, recipient: str) -> list[tuple[str, str, str]]:
    """(what was asked, the reply, the explanation) for the connection and the recipient."""
    return [(step.asked, step.reply, step.explanation)
            for step in decide_steps(client, [recipient])]


class RelayTestPanel(Panel):
    def __init__(self, alwrly: str):
        super().__init__()
        self.alwrly = alwrly
        self.client = Field(6, 36, 39, key="client",
                            help="The IPv4 or IPv6 address the client connects from, "
                                 "e.g. 10.1.1.7 or 2001:db8::5.")
        self.recipient = Field(7, 36, 43, max_length=512, key="recipient",
                               help="The address given at RCPT TO, e.g. "
                                    "someone@example.org; a source route or a % hack is "
                                    "read as the server reads it.")
        self.set_fields([self.client, self.recipient])
        self.results: list[tuple[str, str, str]] = []

    def lines(self) -> list[str]:
        lines = blank()
        heading(lines, "Test Relay Decision")
        put(lines, 2, 1, leader("Allow relayed mail (ALWRLY)") + "   " + self.alwrly)
        put(lines, 4, 1, "Type choices, press Enter.")
        put(lines, 6, 1, leader("Client address"))
        put(lines, 7, 1, leader("Recipient"))
        row = 9
        for asked, reply, explanation in self.results:
            put(lines, row, 1, leader(asked) + "   " + reply)
            row += 1
            for text in wrap(explanation, self.cols - 6, "     "):
                if row < self.key_rows[0] - 1:
                    put(lines, row, 0, text)
                    row += 1
            row += 1
        if self.results:
            put(lines, self.key_rows[0] - 1, 1,
                "The decision the server would make now, from the stored lists.")
        return lines

    def function_keys(self) -> list[str]:
        return ["F3=Exit", "F5=Refresh", "F12=Cancel"]

    def help_lines(self) -> list[str]:
        return [" Test Relay Decision asks the server's own relay policy, compiled from the",
                " stored attributes and lists, what it would answer a client at this",
                " address for this recipient: at connect, then at RCPT TO. Nothing is sent.",
                " The same test runs from scripts: TSTSMTPRLY."]

    def on_key(self, key: str):
        if key == "ENTER":
            client, recipient = self.client.text, self.recipient.text
            for value, name, field in ((client, "Client address", "client"),
                                       (recipient, "Recipient", "recipient")):
                if not value:
                    self.results = []
                    self.show([Message("CPD0007", name)], field=field)
                    return None
            if valid_client(client) is None:
                self.results = []
                self.show([Message("TCP1901", client)], field=self.client)
                return None
            try:
                self.results = decide(valid_client(client), recipient)
            except CLError as error:
                self.results = []
                self.show(error.messages)
                return None
            self.show([])
            return None
        if key == "F5":
            self.client.set("")
            self.recipient.set("")
            self.results = []
            self.focus_on(0)
            return None
        if key in ("F3", "F12"):
            return super().on_key(key)
        self.show([Message("QTS1004", key_label(key))])
        return None
