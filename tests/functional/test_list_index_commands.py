"""ADDSMTPLE / RMVSMTPLE with the member's index kept between commands (listindex):
each command is a new process, and still decides exactly what the member says, hand
edits between commands included."""

from pathlib import Path

from support import member


def accept(qroot) -> Path:
    return qroot / "QUSRSYS" / "QATMADRLST" / "ACCEPTRLY"


def add(cl, address, mask=None):
    return cl("addsmtple", f"*ACCEPT INTNETADR('{address}')"
              + (f" SUBNETMASK('{mask}')" if mask else ""))


def rmv(cl, address, mask=None):
    return cl("rmvsmtple", f"*ACCEPT INTNETADR('{address}')"
              + (f" SUBNETMASK('{mask}')" if mask else ""))


def refused(r, detail=None):
    lines = r.stderr.splitlines()
    return (r.returncode == 1 and lines[0].startswith("TCP2650 ")
            and (detail is None or lines[1] == f"  The entry is {detail}."))


def larger_than_a_scan(qroot) -> str:
    """A member the commands keep an index of: larger than listscan.MOST_BYTES (a
    smaller one is searched without it)."""
    path = accept(qroot)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(f"192.168.{n // 256}.{n % 256} 255.255.255.255\n" for n in range(400))
    path.write_text(text)
    return text


def test_a_duplicate_right_after_an_add_is_refused(cl, qroot):
    for big in (False, True):
        accept(qroot).unlink(missing_ok=True)
        before = larger_than_a_scan(qroot) if big else ""
        assert add(cl, "10.1.1.0", "255.255.255.0").returncode == 0
        # kept for the next one, but for a small member, searched without it
        assert (accept(qroot).parent / ".ACCEPTRLY.idx").exists() == big
        assert refused(add(cl, "10.1.1.200", "255.255.255.0"), "10.1.1.0 255.255.255.0")
        assert add(cl, "10.1.1.200").returncode == 0                   # another network
        assert refused(add(cl, "10.1.1.200"), "10.1.1.200 255.255.255.255")
        assert member(qroot, "QATMADRLST", "ACCEPTRLY") == before + (
            "10.1.1.0 255.255.255.0\n10.1.1.200 255.255.255.255\n")


def test_a_hand_edit_between_two_adds_is_seen(cl, qroot):
    path = accept(qroot)
    assert add(cl, "10.1.1.1").returncode == 0
    # In place, the same size, at once: the stat key may be all the same; the content is not.
    with open(path, "r+") as f:
        f.write("10.1.1.2 255.255.255.255\n")
    assert refused(add(cl, "10.1.1.2"), "10.1.1.2 255.255.255.255")
    assert add(cl, "10.1.1.1").returncode == 0
    # Lines taken out, a comment and a hand-typed entry put in, by an editor (new file).
    path.write_text("# office\n10.9.0.0   255.255.0.0\n")
    assert add(cl, "10.1.1.2").returncode == 0
    assert refused(add(cl, "10.9.8.7", "255.255.0.0"), "10.9.0.0 255.255.0.0")
    # Appended by hand, even a duplicate: the last of them is the one reported.
    with open(path, "a") as f:
        f.write("10.9.1.1 255.255.0.0\n")
    assert refused(add(cl, "10.9.8.7", "255.255.0.0"), "10.9.1.1 255.255.0.0")
    assert path.read_text() == ("# office\n10.9.0.0   255.255.0.0\n10.1.1.2 255.255.255.255\n"
                                "10.9.1.1 255.255.0.0\n")


def test_remove_then_add_of_the_same_entry(cl, qroot):
    path = accept(qroot)
    path.write_text("# office\n10.1.1.0 255.255.255.0\n")
    for _ in range(3):
        assert add(cl, "10.2.2.2").returncode == 0
        assert refused(add(cl, "10.2.2.2"))
        r = rmv(cl, "10.2.2.2")
        assert (r.returncode, r.stdout) == (0, "TCP2661 SMTP list entry removed.\n")
        assert path.read_text() == "# office\n10.1.1.0 255.255.255.0\n"
        r = rmv(cl, "10.2.2.2")
        assert r.returncode == 1 and r.stderr.startswith("TCP2651 ")
    assert rmv(cl, "10.1.1.77", "255.255.255.0").returncode == 0
    assert path.read_text() == "# office\n"
    assert add(cl, "10.1.1.77", "255.255.255.0").returncode == 0
    assert path.read_text() == "# office\n10.1.1.77 255.255.255.0\n"


def test_removing_takes_every_record_of_the_entry_and_only_those(cl, qroot):
    path = accept(qroot)
    path.write_text("10.1.1.5 255.255.255.0\r\n# keep me\n10.1.1.0   255.255.255.0\n"
                    "10.1.2.0 255.255.255.0\n10.1.1.0 255.255.255.0")
    assert add(cl, "10.3.3.3").returncode == 0               # closes the open last line
    assert rmv(cl, "10.1.1.1", "255.255.255.0").returncode == 0
    assert path.read_text() == "# keep me\n10.1.2.0 255.255.255.0\n10.3.3.3 255.255.255.255\n"
    assert add(cl, "10.1.1.1", "255.255.255.0").returncode == 0


def test_an_index_removed_or_damaged_between_commands_is_made_again(cl, qroot):
    before = larger_than_a_scan(qroot)
    index = accept(qroot).parent / ".ACCEPTRLY.idx"
    assert add(cl, "10.1.1.1").returncode == 0
    index.unlink()
    assert refused(add(cl, "10.1.1.1"))
    index.write_bytes(b"\0" * 4096)
    assert refused(add(cl, "10.1.1.1"))
    assert add(cl, "10.1.1.3").returncode == 0
    assert accept(qroot).read_text() == before + "10.1.1.1 255.255.255.255\n10.1.1.3 255.255.255.255\n"


def test_a_bad_record_appended_by_hand_is_named(cl, qroot):
    path = accept(qroot)
    path.write_text("10.1.1.1 255.255.255.255\n")
    assert add(cl, "10.1.1.2").returncode == 0
    with open(path, "a") as f:
        f.write("# typo below\n10.1.1.999\n")
    # Named when the member is read again, and passed over: the other entries can
    # still be added and removed.
    r = add(cl, "10.1.1.3")
    assert r.returncode == 0
    assert r.stderr.startswith("TCP2671 Member ACCEPTRLY file QATMADRLST in library QUSRSYS "
                               "not valid at record 4")
    assert rmv(cl, "10.1.1.1").returncode == 0
    assert path.read_text() == ("10.1.1.2 255.255.255.255\n"
                                "# typo below\n10.1.1.999\n10.1.1.3 255.255.255.255\n")
    r = rmv(cl, "10.1.1.1")
