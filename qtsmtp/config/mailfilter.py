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
from qtsmtp.messages import question_marked

NONE, KEEP, DISCARD, REFUSE = "*NONE", "*KEEP", "*REJECTMAIL", "*REFUSE"
ACTIONS = (NONE, KEEP, DISCARD, REFUSE)

SUBJECT, ORIGIN, FILENAME, TYPE = "*FTRSUBJECT", "*FTRORIGIN", "*FTRFILNAME", "*FTRTYPE"
FILTER_TYPES = (SUBJECT, ORIGIN, FILENAME, TYPE)
_DESCRIBED = {SUBJECT: "subject", ORIGIN: "originator", FILENAME: "attachment file name",
              TYPE: "content type"}
REFUSE_REPLY = "550 5.7.1 Message refused by a mail filter of this system"


@dataclass(frozen=True)
class FilterMatch:
    list_type: str        # *FTRSUBJECT ...
    pattern: str          # the FTRDATA of the entry that matched
    value: str            # what it matched, what is not printable shown as ?

    def reason(self) -> str:
        return f"{_DESCRIBED[self.list_type]} '{self.value}' matches {self.list_type} entry '{self.pattern}'"

    def as_record(self) -> dict:
        return {"list": self.list_type, "entry": self.pattern, "value": self.value,
                "reason": self.reason()}


class Pattern:
    """One FTRDATA value: ``*`` is one or more characters, the rest literal, no case."""

    __slots__ = ("_regex", "source", "text")

    def __init__(self, text: str):
        self.text = text
        self.source = ".+".join(re.escape(_fold(piece)) for piece in text.split("*"))
        self._regex = re.compile(self.source, re.DOTALL)

    def matches(self, folded_value: str) -> bool:
        return self._regex.fullmatch(folded_value) is not None


class PatternSet:
    """Several patterns as one regular expression, so that a value no entry matches
    (nearly every value) costs one match, whatever the number of entries."""

    __slots__ = ("_any", "patterns")

    def __init__(self, patterns: list[Pattern]):
        self.patterns = patterns
        self._any = (re.compile("|".join(f"(?:{p.source})" for p in patterns), re.DOTALL)
                     if patterns else None)

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def __len__(self) -> int:
        return len(self.patterns)

    def first(self, folded_value: str) -> Pattern | None:
        if self._any is None or self._any.fullmatch(folded_value) is None:
            return None
        return next(p for p in self.patterns if p.matches(folded_value))


class FilterRules:
    """The four lists, compiled once per change of the lists."""

    def __init__(self, entries: dict[str, list[str]]):
        def compiled(list_type: str, keep=lambda text: True) -> PatternSet:
            return PatternSet([Pattern(p) for p in entries.get(list_type, ()) if keep(p)])
        self.subject = compiled(SUBJECT)
        self.filename = compiled(FILENAME)
        # An originator pattern with @ is an address, one without a domain; a type
        # pattern with / is type/subtype, one without a main type.
        self.origin_address = compiled(ORIGIN, lambda p: "@" in p)
        self.origin_domain = compiled(ORIGIN, lambda p: "@" not in p)
        self.type_full = compiled(TYPE, lambda p: "/" in p)
        self.type_main = compiled(TYPE, lambda p: "/" not in p)
        self.origin = bool(self.origin_address or self.origin_domain)
        self.type = bool(self.type_full or self.type_main)

    def __bool__(self) -> bool:
        return bool(self.subject or self.origin or self.filename or self.type)

    def count(self) -> int:
        return sum(map(len, (self.subject, self.filename, self.origin_address,
                             self.origin_domain, self.type_full, self.type_main)))

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
        folded = _fold(address)
        found = (self.origin_address.first(folded)
                 or self.origin_domain.first(folded.rpartition("@")[2]))
        return FilterMatch(ORIGIN, found.text, shown(address)) if found else None

    def _type(self, content_type: str) -> FilterMatch | None:
        folded = _fold(content_type)
        found = self.type_full.first(folded) or self.type_main.first(folded.partition("/")[0])
        return FilterMatch(TYPE, found.text, shown(content_type)) if found else None


def _first(list_type: str, patterns: PatternSet, value: str) -> FilterMatch | None:
    found = patterns.first(_fold(value))
    return FilterMatch(list_type, found.text, shown(value)) if found else None


def _fold(text: str) -> str:
    if text.isascii():               # NFC leaves ASCII as it is; casefold is lower there
        return text.lower()
    return unicodedata.normalize("NFC", text).casefold()


def file_name(name: str) -> str:
    """The name a file would be saved under: no directory part ("C:\\x\\a.exe" is
    a.exe), no trailing dots or blanks (Windows drops them: "a.exe. " runs as a.exe)."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    return name.rstrip(". \t\r\n")


def shown(value: str) -> str:
    """A value fit for a log line, a reason file or the operator's terminal
    (WRKSMTPQTN): bounded, and every character str.isprintable refuses shown as ?: not
    only C0 and DEL but C1 (CSI, a terminal's escape in one character), U+202E (the
    rest of the line shown backwards), U+2028 (a line break to str.splitlines), which
    a subject's encoded words bring as easily."""
    return question_marked(value[:200])


def rules_from_entries(entries_by_type: dict[str, list]) -> FilterRules:
    """FilterRules from config.entries.Entry lists keyed by list type."""
    return FilterRules({t: [e.text for e in entries_by_type.get(t, ())] for t in FILTER_TYPES})


def filter_list_types() -> list[lt.ListType]:
    return [lt.LIST_TYPES[t] for t in FILTER_TYPES]
