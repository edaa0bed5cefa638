"""ADDSMTPAUT, CHGSMTPAUT, RMVSMTPAUT: the SMTP AUTH users (qtsmtp.config.credentials).
"""

from __future__ import annotations

import sys

from qtsmtp.cl.binder import Bound
from qtsmtp.config.credentials import (MAX_PASSWORD, MAX_USER, credentials_member, hash_password,
                                       parse_records, records_text)
from qtsmtp.messages import Message, escape
from qtsmtp.store.root import data_root

def _user(value: str) -> str:
    if (not value or len(value) > MAX_USER or not value.isprintable()
            or any(c in value for c in " \t\\\"")):
        raise escape("TCP6001", value[:MAX_USER])
    return value


def _password(value: str) -> str:
    """PASSWORD(*STDIN) reads the first line of standard input: a password given in the
    command line would be visible to every user in ps(1)."""
    if value.upper() == "*STDIN":
        value = sys.stdin.readline().rstrip("\r\n")
    if not value or len(value) > MAX_PASSWORD or "\0" in value:
        raise escape("TCP6002", MAX_PASSWORD)
    return value


def addsmtpaut(bound: Bound) -> list[Message]:
    user = _user(bound["USER"])
    hashed = hash_password(_password(bound["PASSWORD"]))
    member = credentials_member(data_root())
    with member.locked():
        users = parse_records(member.read_text())
        if user in users:
            raise escape("TCP6003", user)
        users[user] = hashed
        member.replace(records_text(users))
    return [Message("TCP6004", user)]


def chgsmtpaut(bound: Bound) -> list[Message]:
    user = _user(bound["USER"])
    hashed = hash_password(_password(bound["PASSWORD"]))
    member = credentials_member(data_root())
    with member.locked():
        users = parse_records(member.read_text())
        if user not in users:
            raise escape("TCP6005", user)
        users[user] = hashed
        member.replace(records_text(users))
    return [Message("TCP6006", user)]


def rmvsmtpaut(bound: Bound) -> list[Message]:
    user = _user(bound["USER"])
    member = credentials_member(data_root())
    with member.locked():
        users = parse_records(member.read_text())
        if users.pop(user, None) is None:
            raise escape("TCP6005", user)
        member.replace(records_text(users))
    return [Message("TCP6007", user)]
