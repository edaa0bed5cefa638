"""SMTP AUTH users: names and scrypt-hashed passwords in a member only its owner can read.

Member QUSRSYS/QATMSMTPC(AUTH), mode 0600 (MemberFile secret=True), one record per user:

    user<TAB>scrypt$N$r$p$salt$hash

salt and hash in unpadded base64. The password itself is never stored, never logged and
never shown. ADDSMTPAUT, CHGSMTPAUT and RMVSMTPAUT keep the member; the server reads it
(``CredentialStore``) and re-reads it when it changes, so a new or removed user counts
from the next AUTH command. Verification costs one scrypt (about 16 MB and some tens of
milliseconds): the server runs it off its event loop, and an unknown user costs the same
as a known one, so a client cannot tell which names exist by timing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from pathlib import Path

from qtsmtp.store.member import MemberFile
from qtsmtp.store.root import SYSTEM_LIBRARY

CREDENTIALS_FILE, CREDENTIALS_MEMBER = "QATMSMTPC", "AUTH"
# RFC 7914's interactive parameters: N=2**14, r=8, p=1 (16 MB of memory per check).
SCRYPT_N, SCRYPT_R, SCRYPT_P, KEY_LENGTH = 2 ** 14, 8, 1, 32
# The shortest stored key checked at all: a digest of n bytes is matched by one
# password in 256**n, so a record whose hash lost its end would let a guess log on.
MIN_KEY_LENGTH = 16
# The least memory (128 * N * r bytes) a stored hash may make a check cost: below it, a
# guess is nearly free, on line and for whoever reads a copy of the member.
MIN_SCRYPT_MEMORY = 1024 * 1024
# The most a stored hash may make a check cost, 128 * N * r * p bytes worked through
# (memory is 128 * N * r; the p lanes run one after the other): 16 times the commands'
# parameters. Every client that names the user in AUTH makes the server pay it, so a
# hand-edited N=2**20, r=8, p=16 would cost 1 GiB and some 16 s of CPU an attempt.
MAX_SCRYPT_WORK = 256 * 1024 * 1024
# And the most memory one check may take, 128 * N * r: 4 times the commands' (N=2**16,
# r=8, a common default elsewhere, still passes). The checks run in the job's executor
# threads at once: N=2**21, r=1 would be 256 MiB each, 1.5 GiB for six.
MAX_SCRYPT_MEMORY = 64 * 1024 * 1024
MAX_USER, MAX_PASSWORD = 64, 256


def credentials_member(root: Path) -> MemberFile:
    return MemberFile(root, SYSTEM_LIBRARY, CREDENTIALS_FILE, CREDENTIALS_MEMBER, secret=True)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _maxmem(n: int, r: int, p: int) -> int:
    """What a check with these parameters may allocate: OpenSSL's need plus a margin."""
    return 128 * r * (n + p + 2) + 1024 * 1024


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P,
                  salt: bytes | None = None) -> str:
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                            maxmem=_maxmem(n, r, p), dklen=KEY_LENGTH)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def _checkable(stored: str) -> tuple[int, int, int, bytes, bytes] | None:
    """(N, r, p, salt, digest) of a stored hash fit to check a password against; None
    for a malformed one, one cut short, or one with parameters so weak that a guess
    costs next to nothing or so costly that a check is a weapon (a hand edit: the
    commands always hash with the defaults)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return None
        n, r, p = int(n), int(r), int(p)
        if not (2 <= n <= 2 ** 20 and 1 <= r <= 32 and 1 <= p <= 16):
            return None
        if 128 * n * r < MIN_SCRYPT_MEMORY:
            return None
        if 128 * n * r * p > MAX_SCRYPT_WORK or 128 * n * r > MAX_SCRYPT_MEMORY:
            return None         # a hand edit that would let any client tie up the server
        if n & (n - 1):
            return None         # a hand edit scrypt cannot check at all
        expected = _unb64(digest)
        if len(expected) < MIN_KEY_LENGTH:
            return None         # a hash cut short (a copy onto a full disk): guessable
        return n, r, p, _unb64(salt), expected
    except (ValueError, TypeError):
        return None


def check_password(password: str, stored: str) -> bool:
    """True when ``password`` matches the stored hash; False for any hash _checkable
    refuses."""
    return _matches(password, _checkable(stored))


def _matches(password: str, checkable: tuple[int, int, int, bytes, bytes] | None) -> bool:
    if checkable is None:
        return False
    n, r, p, salt, expected = checkable
    try:
        got = hashlib.scrypt(password.encode("utf-8", "surrogateescape"), salt=salt,
                             n=n, r=r, p=p, maxmem=_maxmem(n, r, p), dklen=len(expected))
    except (ValueError, MemoryError):
        return False            # OpenSSL refused (out of memory): no logon, no traceback
    return hmac.compare_digest(got, expected)


def parse_records(text: str) -> dict[str, str]:
    """user (as written) -> hash. Names compare case-sensitively, as passwords do."""
    out = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        user, _, hashed = line.partition("\t")
        if user and hashed:
            out[user] = hashed
    return out


def records_text(users: dict[str, str]) -> str:
    return "".join(f"{u}\t{h}\n" for u, h in sorted(users.items()))


class CredentialStore:
    """The server's view of the member: re-read when its stat key changes."""

    def __init__(self, root: Path):
        self.member = credentials_member(Path(root))
        self._key: tuple | None = ()
        self._users: dict[str, str] = {}

    def users(self) -> dict[str, str]:
        key = self.member.stat_key()
        if key != self._key:
            # Imported here: the server's reader needs it, the commands do not.
            from qtsmtp.store import settle
            path = self.member.path
            # A hand edit under way (the member open for writing, or changed while read)
            # is not taken: a half-written member would refuse users, or AUTH altogether.
            # The users read before stay until it is finished (none at the first read).
            before = settle.fingerprint(path)
            if settle.writer_seen(path) and self._key != ():
                return self._users
            users = parse_records(self.member.read_text()) if key else {}
            if (settle.fingerprint(path) == before and not settle.writer_seen(path)) \
                    or self._key == ():
                self._users, self._key = users, key
        return self._users

    def has_users(self) -> bool:
        return bool(self.users())

    def verify(self, user: str, password: str) -> bool:
        """Blocking (one scrypt): call it in a thread."""
        stored = self.users().get(user)
        checkable = None if stored is None else _checkable(stored)
        if checkable is None:
            # An unknown user, or one whose hash is refused, costs a real scrypt too:
            # the answer's time must not tell a client which names exist.
            _matches(password, _DUMMY)
            return False
        return _matches(password, checkable)


# Checked for unknown users, so that they cost one real scrypt with the commands'
# parameters, as a known user does. Written out, not made by hash_password on first use:
# that first unknown user would have cost two. Its digest matches no password that
# matters (verify answers False for it whatever the check says).
_DUMMY = _checkable(f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(bytes(16))}$"
                    f"{_b64(bytes(KEY_LENGTH))}")
