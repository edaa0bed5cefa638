"""ADDUSRSMTP, CHGUSRSMTP, RMVUSRSMTP: the SMTP user directory (qtsmtp.config.users).
"""

from __future__ import annotations

from qtsmtp.cl.binder import Bound
from qtsmtp.config.entries import domain_name
from qtsmtp.config.users import address_of, read_users, users_member, users_text
from qtsmtp.jobs.notify import confirm_change
from qtsmtp.messages import Message, escape
from qtsmtp.store.root import data_root


def _alias(value: str, profile: str) -> str:
    alias = profile.lower() if value.upper() == "*USRPRF" else value
    if not alias or any(c in alias for c in " \t@<>\"\\") or not alias.isprintable():
        raise escape("TCP5041", alias)
    return alias


def _domain(value: str) -> str:
    if value.upper() == "*DFT":
        return "*DFT"
    return domain_name(value)


def addusrsmtp(bound: Bound) -> list[Message]:
    root = data_root()
    profile = bound["USRPRF"].upper()
    member = users_member(root)
    with member.locked():
        entries = read_users(root)
        if profile in entries:
            raise escape("TCP5042", profile)
        entries[profile] = (_alias(bound["ALIAS"], profile), _domain(bound["DOMAIN"]))
        member.replace(users_text(entries))
    # Who receives mail changed: returns once every running server job applies it.
    return confirm_change(root) + [Message("TCP5043", profile, address_of(root, profile))]


def chgusrsmtp(bound: Bound) -> list[Message]:
    root = data_root()
    profile = bound["USRPRF"].upper()
    member = users_member(root)
    with member.locked():
        entries = read_users(root)
        if profile not in entries:
            raise escape("TCP5044", profile)
        alias, domain = entries[profile]
        if bound["ALIAS"].upper() != "*SAME":
            alias = _alias(bound["ALIAS"], profile)
        if bound["DOMAIN"].upper() != "*SAME":
            domain = _domain(bound["DOMAIN"])
        entries[profile] = (alias, domain)
        member.replace(users_text(entries))
    return confirm_change(root) + [Message("TCP5045", profile, address_of(root, profile))]


def rmvusrsmtp(bound: Bound) -> list[Message]:
    root = data_root()
    profile = bound["USRPRF"].upper()
    member = users_member(root)
    with member.locked():
        entries = read_users(root)
        if entries.pop(profile, None) is None:
            raise escape("TCP5044", profile)
        member.replace(users_text(entries))
    return confirm_change(root) + [Message("TCP5046", profile)]
