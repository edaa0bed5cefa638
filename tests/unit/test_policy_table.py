"""Runs policy_table.txt: every event line is one test case, named policy_table.txt:<line>.

The table's header explains its format; this file only turns it into policies and events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from qtsmtp.config import entries
from qtsmtp.config import listtypes as lt
from qtsmtp.config.address import AddressRefused, canonical_recipient
from qtsmtp.config.policy import Decision, RelayPolicy

TABLE = Path(__file__).with_name("policy_table.txt")

# Configuration keyword -> list type; the rest of the line is a member record.
LIST_KEYWORDS = {
    "accept": "*ACCEPT", "reject": "*REJECT", "near": "*NEAR", "domain": "*DOMAIN",
    "accept6": "*ACCEPTIP6", "reject6": "*REJECTIP6", "domain6": "*DOMAINIP6",
}


@dataclass
class Block:
    title: str
    line: int
    alwrly: str = ""
    lists: dict[str, list[entries.Entry]] = field(default_factory=dict)
    local_domains: list[str] = field(default_factory=list)
    local_addresses: list[str] = field(default_factory=list)
    _policy: RelayPolicy | None = None

    def policy(self) -> RelayPolicy:
        if self._policy is None:
            assert self.alwrly, f"{TABLE.name}:{self.line}: block has no alwrly line"
            self._policy = RelayPolicy.from_entries(self.alwrly, self.lists, self.local_domains,
                                                    self.local_addresses)
        return self._policy


@dataclass
class Event:
    block: Block
    line: int
    text: str
    verb: str                 # "connect" or "rcpt"
    client: str
    address: str = ""
    auth: bool = False
    code: int = 0
    enhanced: str = ""
    rule: str = ""
    by: list[str] = field(default_factory=list)


def parse_table(path: Path = TABLE) -> list[Event]:
    events: list[Event] = []
    block: Block | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        word, _, rest = text.partition(" ")
        rest = rest.strip()
        where = f"{path.name}:{number}"
        if word == "policy":
            block = Block(rest, number)
            continue
        assert block is not None, f"{where}: '{word}' before the first 'policy' line"
        if word == "alwrly":
            block.alwrly = rest
        elif word in LIST_KEYWORDS:
            list_type = lt.LIST_TYPES[LIST_KEYWORDS[word]]
            entry = entries.parse_record(list_type, rest)
            block.lists.setdefault(list_type.type, []).append(entry)
        elif word == "local":
            block.local_domains.append(rest)
        elif word == "localaddr":
            block.local_addresses.append(rest)
        elif word in ("connect", "rcpt"):
            events.append(_event(block, number, text, word, rest, where))
        else:
            raise AssertionError(f"{where}: unknown line '{text}'")
    return events


def _event(block: Block, number: int, text: str, verb: str, rest: str, where: str) -> Event:
    left, arrow, expect = rest.rpartition(" -> ")
    assert arrow, f"{where}: event without ' -> '"
    auth = left.startswith("auth ")
    if auth:
        left = left[len("auth "):]
    # The address is the rest of the line: a quoted local part may hold blanks.
    words = left.split(" ", 1)
    event = Event(block, number, text, verb, words[0], auth=auth)
    if verb == "rcpt":
        assert len(words) == 2, f"{where}: rcpt needs a client and an address"
        event.address = words[1]
    else:
        assert len(words) == 1 and not auth, f"{where}: connect takes a client only"
    parts = expect.split()
    event.code = int(parts.pop(0))
    if parts and parts[0][:1].isdigit():
        event.enhanced = parts.pop(0)
    if parts and parts[0] == "rule":
        parts.pop(0)
        event.rule = parts.pop(0)
    if parts and parts[0] == "by":
        event.by = parts[1:]
        parts = []
    assert not parts, f"{where}: cannot read expectation '{expect}'"
    return event


def decide(event: Event) -> Decision:
    policy = event.block.policy()
    if event.verb == "connect":
        return policy.check_connect(event.client)
    try:
        recipient = canonical_recipient(event.address)
    except AddressRefused as refusal:
        return Decision.address_refused(refusal, event.client, event.address)
    return policy.check_recipient(event.client, recipient, authenticated=event.auth)


EVENTS = parse_table()


@pytest.mark.parametrize("event", EVENTS, ids=[f"{TABLE.name}:{e.line}" for e in EVENTS])
def test_policy_table(event: Event) -> None:
    decision = decide(event)
    context = (f"\n  {event.block.title}\n  {event.text}\n"
               f"  got: {decision.reply}\n  {decision.explain()}")
    assert decision.code == event.code, context
    assert decision.allowed == (event.code < 400), context
    if event.enhanced:
        assert decision.enhanced == event.enhanced, context
    if event.rule:
        assert decision.rule == event.rule, context
    if event.by:
        assert decision.list_name == event.by[0], context
        if len(event.by) > 1:
            assert decision.entry == " ".join(event.by[1:]), context


def test_table_covers_every_alwrly_mode_and_both_verbs() -> None:
    # Guards the parser: a table that silently parses to nothing would pass every case.
    modes = {e.block.alwrly for e in EVENTS}
    assert modes >= {"*NONE", "*ALL", "*LIST", "*NEAR", "*BOTH"}
    assert {e.verb for e in EVENTS} == {"connect", "rcpt"}
    assert len(EVENTS) > 150
    assert any(e.auth for e in EVENTS)
