"""TLS for the SMTP server, and the permission checks made before the server starts.

The certificate and key are named by CHGSMTPA TLSCERT and TLSKEY (qtsmtp extensions,
PEM files). ``server_context`` loads them into a server SSLContext that speaks TLS 1.2
and later only; STARTTLS (RFC 3207) and the implicit-TLS listener (ALWIMPSSL, RFC 8314)
use it. A key that its group or the world can read is refused, so is a certificate or
key that cannot be loaded: the server does not start, and the message names the file.

``check_permissions`` refuses a start where another local user could change what the
server trusts: a world-writable data root, library, file, member, queue directory, or
exit program file; or secrets (the TLS key, the AUTH credentials member) that the group
or the world can read or write.
"""

from __future__ import annotations

import os
import ssl
import stat
from pathlib import Path

from qtsmtp.config import attributes
from qtsmtp.config.credentials import credentials_member
from qtsmtp.config.exitreg import RegistryError, read_registry
from qtsmtp.store.permissions import check_trusted
from qtsmtp.messages import escape

NONE = "*NONE"


def tls_paths(values: dict) -> tuple[str, str] | None:
    """(certificate, key) from the attributes, or None when TLS is not configured."""
    cert, key = values.get("TLSCERT", NONE), values.get("TLSKEY", NONE)
    if cert == NONE and key == NONE:
        return None
    if cert == NONE or key == NONE:
        raise escape("TCP6030", cert if cert == NONE else key,
                     "TLSCERT and TLSKEY must be given together")
    return cert, key


def check_secret(path: Path | str) -> None:
    """A secret file: owned by someone, read and written by its owner only."""
    try:
        st = os.stat(path)
    except OSError as failure:
        raise escape("TCP6030", path, failure.strerror or failure) from None
    if st.st_mode & 0o077:
        raise escape("TCP6031", path, f"{stat.S_IMODE(st.st_mode):04o}")


def server_context(cert: str, key: str) -> ssl.SSLContext:
    check_secret(key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as failure:
        reason = getattr(failure, "strerror", None) or getattr(failure, "reason", None) or failure
        raise escape("TCP6030", f"{cert} / {key}", reason) from None
    return context


def _world_writable(path: Path) -> bool:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(st.st_mode):
        return False
    # A sticky world-writable directory (/tmp) still lets anyone add files: refuse it too.
    return bool(st.st_mode & stat.S_IWOTH)


def check_permissions(root: Path, secrets: list[Path], programs: list[Path] = ()) -> None:
    """Raise TCP6032 / TCP6031 naming the first path that is open to other users."""
    root = Path(root)
    candidates = [root]
    library = root / "QUSRSYS"
    candidates.append(library)
    if library.is_dir():
        for file in sorted(library.iterdir()):
            candidates.append(file)
            if file.is_dir():
                candidates.extend(sorted(p for p in file.iterdir() if not p.name.startswith(".")))
    queue = root / "queue"
    candidates.append(queue)
    if queue.is_dir():
        candidates.extend(sorted(p for p in queue.iterdir() if p.is_dir()))
    jobs = root / "QSYSWRK"
    candidates += [jobs, jobs / "jobs", jobs / "joblog", root / "mail"]
    candidates.extend(programs)
    for path in candidates:
        if _world_writable(path):
            raise escape("TCP6032", path)
    # And owned by the server's user or root: an owner can chmod it open at any time.
    check_trusted(p for p in candidates if not p.is_symlink())
    for secret in secrets:
        if Path(secret).exists():
            check_secret(secret)


def check_start(root: Path) -> None:
    """What STRTCPSVR checks before anything listens (raises CLError, TCP6030-TCP6032):
    the permissions of the library, queue, exit programs and secrets, and that the TLS
    certificate and key load."""
    root = Path(root)
    values = attributes.load(root)
    paths = tls_paths(values)
    secrets = [credentials_member(root).path] + ([Path(paths[1])] if paths else [])
    try:
        programs = [Path(r.program.split()[0]) for r in read_registry(root)
                    if r.kind == "external"]
    except RegistryError:
        programs = []          # the server job reports the member (TCP6023)
    check_permissions(root, secrets, programs)
    if paths:
        server_context(*paths)
