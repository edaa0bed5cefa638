"""Who may change what the server trusts, and directories made with explicit modes.

The server relays for whoever the members say, delivers what the queue holds and runs
the exit programs registered: a file or directory among them that another local user
can write (or that another user owns, and so can chmod) lets that user relay, plant
mail, or run code as the server. So the server does not start on one, and a running
server does not load a change while one is found (qtsmtp-server(8), Permissions): the
owner must be the server's own user or root, and no one else may write.

Directories are made with the mode asked for whatever the umask says (mkdir's mode is
cut by the umask; a umask of 000 made queue/ and QSYSWRK/jobs 0777).
"""

from __future__ import annotations

import os
import pwd
import stat

from qtsmtp.messages import CLError, Message
from qtsmtp.store.root import normal_path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

DIRECTORY_MODE = 0o750      # data root, libraries, QSYSWRK, queue/, mail/
PRIVATE_DIRECTORY_MODE = 0o700


def make_directory(path: str | Path, mode: int = DIRECTORY_MODE) -> str | Path:
    """``path`` and its missing parents, each one made here given ``mode`` explicitly;
    one that exists keeps its mode (an administrator's choice, checked at start).
    Returns ``path``, as given (a str or a Path)."""
    missing = []
    at = normal_path(os.fspath(path))
    while not os.path.exists(at):
        missing.append(at)
        parent = os.path.dirname(at) or "."
        if parent == at:
            break
        at = parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, mode)
        except FileExistsError:
            continue               # made meanwhile by another process: its mode stands
        os.chmod(directory, mode)
    return path


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def problem(path: Path | str) -> Message | None:
    """Why the server must not trust ``path`` (TCP6032: others may write it; TCP2695:
    another user owns it), or None; None for a path that does not exist."""
    try:
        st = os.stat(path)         # a symbolic link is judged by what it points to
    except (FileNotFoundError, NotADirectoryError):
        return None
    if st.st_mode & stat.S_IWOTH:
        return Message("TCP6032", path)
    if st.st_uid not in (os.geteuid(), 0):
        return Message("TCP2695", path, _user(st.st_uid), _user(os.geteuid()))
    return None


def check_trusted(paths) -> None:
    """Raise CLError with the problem of the first path the server must not trust."""
    for path in paths:
        found = problem(path)
        if found is not None:
            raise CLError([found])
