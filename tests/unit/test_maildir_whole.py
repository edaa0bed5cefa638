"""A local mailbox appears whole (qtsmtp.delivery.maildir.whole_mailbox): a reader that
lists mail/ never finds a mailbox without its tmp/, new/ and cur/, and the new mailbox
is in mail/ for good (fsynced) before the message delivered into it counts as delivered.

Found as a test race (c0de489: a test waited for mail/joe, then listed mail/joe/new,
which the first delivery made later); Python's mailbox, Dovecot and mutt, reading a
mailbox at that moment, would take it for no Maildir either."""

from __future__ import annotations

import mailbox
import os
import stat

import pytest

from qtsmtp.delivery import maildir
from qtsmtp.store import durable

PARTS = ("tmp", "new", "cur")


def half_made(mail) -> list[str]:
    """The mailboxes a reader of mail/ would see without all of tmp/, new/ and cur/."""
    if not mail.is_dir():
        return []
    return [f"{entry.name}: {sorted(p.name for p in entry.iterdir())}"
            for entry in mail.iterdir()
            if not entry.name.startswith(".") and entry.is_dir()
            and not all((entry / part).is_dir() for part in PARTS)]


@pytest.fixture
def watched(tmp_path, monkeypatch):
    """Every directory made and every rename during a delivery first looks at mail/ as a
    reader would; what it saw half made is kept."""
    seen: list[str] = []
    mail = tmp_path / maildir.MAIL_DIRECTORY
    real_mkdir, real_rename = os.mkdir, os.rename

    def mkdir(path, *args, **kwargs):
        seen.extend(half_made(mail))
        real_mkdir(path, *args, **kwargs)
        seen.extend(half_made(mail))

    def rename(src, dst, *args, **kwargs):
        seen.extend(half_made(mail))
        real_rename(src, dst, *args, **kwargs)
        seen.extend(half_made(mail))
    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(os, "rename", rename)
    return seen


def deliver(root, name="joe", text=b"Subject: hi\r\n\r\nbody\r\n"):
    return maildir.deliver(root, name, f"{name}@sys.test", "ann@client.test", text)


def test_a_new_mailbox_is_never_seen_half_made(tmp_path, watched):
    delivered = deliver(tmp_path)
    assert watched == []
    box = tmp_path / "mail" / "joe"
    assert delivered.parent == box / "new"
    assert [m["Subject"] for m in mailbox.Maildir(box, create=False)] == ["hi"]
    # Nothing is left beside it, and every part is the user's alone, whatever the umask.
    assert sorted(p.name for p in (tmp_path / "mail").iterdir()) == ["joe"]
    for path in (tmp_path / "mail", box, *(box / part for part in PARTS)):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path


def test_the_new_mailbox_is_durable_in_mail_before_the_message_is(tmp_path, monkeypatch):
    synced = []
    real = durable.fsync_directory

    def fsync_directory(directory):
        synced.append(os.fspath(directory))
        real(directory)
    monkeypatch.setattr(durable, "fsync_directory", fsync_directory)
    deliver(tmp_path)
    mail, box = os.fspath(tmp_path / "mail"), os.fspath(tmp_path / "mail" / "joe")
    assert mail in synced and os.fspath(tmp_path) in synced
    assert synced.index(mail) < synced.index(os.path.join(box, "new"))


def test_mailboxes_already_there_are_used_and_one_made_in_part_is_completed(tmp_path, watched):
    deliver(tmp_path)
    deliver(tmp_path, text=b"Subject: again\r\n\r\nbody\r\n")
    partial = tmp_path / "mail" / "bob"
    (partial / "new").mkdir(parents=True)           # a version that made it in steps
    watched.clear()
    deliver(tmp_path, "bob")
    assert all((partial / part).is_dir() for part in PARTS)
    assert len(list((partial / "new").iterdir())) == 1
    assert sorted(m["Subject"] for m in mailbox.Maildir(tmp_path / "mail" / "joe",
                                                        create=False)) == ["again", "hi"]
    assert not [p for p in (tmp_path / "mail").iterdir() if p.name.startswith(".")]


def test_a_mailbox_made_meanwhile_by_another_process_stands(tmp_path, monkeypatch):
    box = tmp_path / "mail" / "joe"
    real_rename = os.rename

    def rename(src, dst, *args, **kwargs):
        if os.fspath(dst) == os.fspath(box):        # another deliverer was first
            for part in PARTS:
                os.makedirs(box / part, exist_ok=True)
            (box / "cur" / "kept").write_text("its message\n")
        return real_rename(src, dst, *args, **kwargs)
    monkeypatch.setattr(os, "rename", rename)
    delivered = deliver(tmp_path)
    assert delivered.parent == box / "new" and delivered.exists()
    assert (box / "cur" / "kept").read_text() == "its message\n"
    assert sorted(p.name for p in (tmp_path / "mail").iterdir()) == ["joe"]


def test_a_file_where_the_mailbox_would_be_is_an_error_and_nothing_is_left(tmp_path):
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "postmaster").write_text("not a Maildir\n")
    with pytest.raises(OSError):
        deliver(tmp_path, "postmaster")
    assert sorted(p.name for p in (tmp_path / "mail").iterdir()) == ["postmaster"]
