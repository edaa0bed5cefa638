"""The mail filters: the *FTRxxx lists compiled, and the decision for one message.

IBM i filters mail on four lists (ADDSMTPLE TYPE(*FTRSUBJECT | *FTRORIGIN | *FTRFILNAME |
*FTRTYPE) FTRDATA(...)) and CHGSMTPA FTRACN says what happens to a message one of them
matches. IBM's values and ours (chgsmtpa(1)):

    *NONE        no filtering: the lists are kept and not used
    *KEEP        IBM's "Keep message": the message is not delivered; it is kept in the
                 quarantine with a reason file, for WRKSMTPQTN to release or delete
    *REJECTMAIL  IBM's "Discard message": the message is not delivered and not kept;
                 the client was told 250, the job log and the journal say why
    *REFUSE      qtsmtp's own: refused at the end of DATA with 550 5.7.1, so the sending
                 server keeps the message and tells its sender: no backscatter from us

Patterns as IBM documents them: ``*`` stands for one or more characters, anywhere in the
pattern, and the whole value must match; letters compare without regard to case. What
each list is compared with (addressing a message's real structure, not its text):

    *FTRSUBJECT   the Subject (RFC 2047 decoded, folding and runs of blanks made one)
    *FTRORIGIN    the envelope sender and every From: address; a pattern without @ is a
                  domain: it matches the domain part of the address
    *FTRFILNAME   the file name of every MIME part (RFC 2231 and 2047 decoded), without
                  any directory part and without trailing dots and blanks
    *FTRTYPE      the content type of every MIME part (type/subtype); a pattern without
                  / is a main type

Pure: the caller gives it the list entries and the message facts (config.mimescan).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from qtsmtp.config import listtypes as lt
from qtsmtp.config.mimescan import MessageFacts, MimeScanner

NONE, KEEP, DISCARD, REFUSE = "*NONE", "*KEEP", "*REJECTMAIL", "*REFUSE"
ACTIONS = (NONE, KEEP, DISCARD, REFUSE)

SUBJECT, ORIGIN, FILENAME, TYPE = "*FTRSUBJECT", "*FTRORIGIN", "*FTRFILNAME", "*FTRTYPE"
FILTER_TYPES = (SUBJECT, ORIGIN, FILENAME, TYPE)
_DESCRIBED = {SUBJECT: "subject", ORIGIN: "originator", FILENAME: "attachment file name",
              TYPE: "content type"}
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")
REFUSE_REPLY = "550 5.7.1 Message refused by a mail filter of this system"


@dataclass(frozen=True)
class FilterMatch:
    list_type: str        # *FTRSUBJECT ...
    pattern: str          # the FTRDATA of the entry that matched
    value: str            # what it matched, control characters shown as ?

    def reason(self) -> str:
        return f"{_DESCRIBED[self.list_type]} '{self.value}' matches {self.list_type} entry '{self.pattern}'"

    def as_record(self) -> dict:
        return {"list": self.list_type, "entry": self.pattern, "value": self.value,
                "reason": self.reason()}


class Pattern:
    """One FTRDATA value: ``*`` is one or more characters, the rest literal, no case."""

    __slots__ = ("_regex", "text")

    def __init__(self, text: str):
        self.text = text
        pieces = [re.escape(_fold(piece)) for piece in text.split("*")]
        self._regex = re.compile(".+".join(pieces), re.DOTALL)

    def matches(self, folded_value: str) -> bool:
        return self._regex.fullmatch(folded_value) is not None


class FilterRules:
    """The four lists, compiled once per change of the lists."""

    def __init__(self, entries: dict[str, list[str]]):
        self.subject = [Pattern(p) for p in entries.get(SUBJECT, ())]
        self.origin = [Pattern(p) for p in entries.get(ORIGIN, ())]
        self.filename = [Pattern(p) for p in entries.get(FILENAME, ())]
        self.type = [Pattern(p) for p in entries.get(TYPE, ())]

    def __bool__(self) -> bool:
        return bool(self.subject or self.origin or self.filename or self.type)

    def count(self) -> int:
        return len(self.subject) + len(self.origin) + len(self.filename) + len(self.type)

    @property
    def needs_parts(self) -> bool:
        """Are the MIME parts needed, or only the message's own header block?"""
        return bool(self.filename or self.type)

    def scanner(self) -> MimeScanner:
        return MimeScanner(headers_only=not self.needs_parts)

    def match(self, facts: MessageFacts, sender: str) -> FilterMatch | None:
        """The first entry that matches the message, in the order subject, originator,
        file name, type; None when none does."""
        if self.subject and facts.subject:
            found = _first(SUBJECT, self.subject, facts.subject)
            if found:
                return found
        if self.origin:
            for address in ([sender] if sender else []) + facts.from_addresses:
                found = self._origin(address)
                if found:
                    return found
        for part in facts.parts:
            if self.filename and part.filename:
                found = _first(FILENAME, self.filename, file_name(part.filename))
                if found:
                    return found
            if self.type:
                found = self._type(part.content_type)
                if found:
                    return found
        return None

    def _origin(self, address: str) -> FilterMatch | None:
        domain = address.rpartition("@")[2]
        for pattern in self.origin:
            value = address if "@" in pattern.text else domain
            if pattern.matches(_fold(value)):
                return FilterMatch(ORIGIN, pattern.text, shown(address))
        return None

    def _type(self, content_type: str) -> FilterMatch | None:
        main = content_type.partition("/")[0]
        for pattern in self.type:
            value = content_type if "/" in pattern.text else main
            if pattern.matches(_fold(value)):
                return FilterMatch(TYPE, pattern.text, shown(content_type))
        return None


def _first(list_type: str, patterns: list[Pattern], value: str) -> FilterMatch | None:
    folded = _fold(value)
    for pattern in patterns:
        if pattern.matches(folded):
            return FilterMatch(list_type, pattern.text, shown(value))
    return None


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def file_name(name: str) -> str:
    """The name a file would be saved under: no directory part ("C:\\x\\a.exe" is
    a.exe), no trailing dots or blanks (Windows drops them: "a.exe. " runs as a.exe)."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    return name.rstrip(". \t\r\n")


def shown(value: str) -> str:
    """A value fit for a log line or a reason file: no control characters, bounded."""
    return _UNPRINTABLE.sub("?", value)[:200]


def rules_from_entries(entries_by_type: dict[str, list]) -> FilterRules:
    """FilterRules from config.entries.Entry lists keyed by list type."""
    return FilterRules({t: [e.text for e in entries_by_type.get(t, ())] for t in FILTER_TYPES})


def filter_list_types() -> list[lt.ListType]:
    return [lt.LIST_TYPES[t] for t in FILTER_TYPES]
