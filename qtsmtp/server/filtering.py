"""A server job's mail filters: the *FTRxxx lists kept up to date, and FTRACN carried out.

The rules are read again only when one of the four filter members changed (a stat of
each, made when the job's compiled policy changed, which every ADDSMTPLE and RMVSMTPLE
causes through the change journal, and at most every RECHECK_SECONDS otherwise, for a
hand edit), and not while a hand edit is under way (store.settle). The matching itself is config.mailfilter's, pure.

``check`` is given the message as it arrives (``feed`` takes a chunk at a time, so a
DATA phase that spools to disk can feed what it writes) and says what FTRACN does with
it; ``act`` does it: refuse (550 5.7.1, nothing stored), discard (250, nothing stored,
the job log and the journal say why) or keep (250, committed durably with the reason in
its envelope; the client job moves it into the quarantine, queue.quarantine).
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from qtsmtp.config import listtypes as lt
from qtsmtp.config import mailfilter as mf
from qtsmtp.config.lists import member_file, read_entries
from qtsmtp.messages import CLError
from qtsmtp.queue import quarantine
from qtsmtp.store import settle

RECHECK_SECONDS = 0.3


class FilterCheck:
    """One message on its way through the rules."""

    def __init__(self, rules: mf.FilterRules, action: str):
        self.rules, self.action = rules, action
        self.scanner = rules.scanner()

    def feed(self, chunk: bytes) -> None:
        self.scanner.feed(chunk)

    def verdict(self, sender: str) -> mf.FilterMatch | None:
        return self.rules.match(self.scanner.close(), sender)


class MessageFilters:
    def __init__(self, root: Path, log):
        self.root = Path(root)
        self.log = log
        self._members = [member_file(self.root, lt.LIST_TYPES[t]) for t in mf.FILTER_TYPES]
        self._keys = None
        self._told_keys = None          # the state TCP2676 was said for
        self._rules = mf.FilterRules({})
        self._seen_policy = None
        self._checked_at = 0.0

    def check(self, compiled) -> FilterCheck | None:
        """A FilterCheck for the next message, or None when nothing is to be filtered
        (FTRACN(*NONE), or no filter entries)."""
        action = compiled.attributes.get("FTRACN", mf.NONE)
        if action not in mf.ACTIONS or action == mf.NONE:
            return None
        now = time.monotonic()
        if compiled is not self._seen_policy or now - self._checked_at > RECHECK_SECONDS:
            self._seen_policy, self._checked_at = compiled, now
            self._refresh()
        return FilterCheck(self._rules, action) if self._rules else None

    def _refresh(self) -> None:
        keys = tuple(m.stat_key() for m in self._members)
        if keys == self._keys:
            return
        before = [settle.fingerprint(m.path) for m in self._members]
        if self._being_written(keys):
            return
        try:
            entries = {t: read_entries(self.root, lt.LIST_TYPES[t]) for t in mf.FILTER_TYPES}
            if [settle.fingerprint(m.path) for m in self._members] != before \
                    or self._being_written(keys):
                return                  # changed while read: read again at the next look
        except CLError as bad:
            # A hand edit that does not parse: the last good rules stay (as the policy).
            self.log.send("TCP7005", bad.escape)
            self._keys = keys
            return
        except OSError as failure:
            self.log.send("TCP7005", failure)
            return
        self._rules, self._keys = mf.rules_from_entries(entries), keys
        self.log.send("TCP7006", self._rules.count())

    def _being_written(self, keys: tuple) -> bool:
        """Does a program (an editor, ``cat >``) still have a filter member open for
        writing? Then the rules in use stay: a half-written list would let through mail
        a missing rule stops. Said in the job log once for each state (TCP2676)."""
        busy = [m for m in self._members if settle.writer_seen(m.path)]
        if busy and keys != self._told_keys:
            self._told_keys = keys
            for member in busy:
                self.log.send("TCP2676", member.member, member.file, member.library,
                              "a program has it open for writing")
        return bool(busy)


async def act(handler, session, action: str, match: mf.FilterMatch, spool) -> str:
    """Carry out FTRACN for a spooled message a filter matched; the SMTP reply."""
    reason = match.reason()
    client, sender = session.peer[0], spool.envelope["sender"]
    journal = {"queue_id": spool.queue_id, "sender": sender,
               "recipients": spool.envelope["recipients"], "action": action,
               "filter": match.as_record()}
    if action == mf.REFUSE:
        spool.abandon()
        handler.log.send("TCP7002", client, sender or "<>", reason)
        handler.journal_event(session, "filtered", **journal)
        return mf.REFUSE_REPLY
    if action == mf.DISCARD:
        spool.abandon()
        handler.log.send("TCP7001", spool.queue_id, client, sender or "<>", reason)
        handler.journal_event(session, "filtered", **journal)
        return f"250 2.0.0 Ok: queued as {spool.queue_id}"
    # *KEEP: committed as any message (durable before 250), the reason in its envelope;
    # the client job moves it into the quarantine instead of delivering it.
    kept = {"time": datetime.now().astimezone().isoformat(), "action": action,
            **match.as_record()}
    try:
        await spool.commit({**spool.envelope, "size": spool.size, quarantine.KEY: kept})
    except OSError as failure:
        handler.log.send("TCP7003", spool.queue_id, failure.strerror or failure)
        return "451 4.3.0 Message not queued; try again later"
    handler.log.send("TCP7000", spool.queue_id, client, sender or "<>", reason)
    handler.journal_event(session, "filtered", **journal)
    return f"250 2.0.0 Ok: queued as {spool.queue_id}"
