"""Digits that str.isdigit passes and int() refuses (superscripts, circled digits) are a
bad value with its message, never an internal error (TCP9999). Reviewer's note (reviewcl):
the same isdigit-then-int pattern as entries.prefix_length, outside the CL path."""

import pytest

from qtsmtp.config.exitreg import RegistryError, parse_registry
from qtsmtp.delivery.routing import split_host_port
from support import member


def config(root):
    return member(root, "QATMSMTP", "CONFIG")


@pytest.mark.parametrize("value", ["hub.example:²5", "hub.example:①", "[::1]:2⁵"])
def test_a_router_port_of_odd_digits_is_refused_with_tcp1905(cl, qroot, value):
    before = config(qroot)
    done = cl("chgsmtpa", f"MAILROUTER('{value}')")
    assert done.returncode == 1, done.stderr
    assert "TCP1905" in done.stderr and "TCP9999" not in done.stderr
    assert config(qroot) == before


def test_a_hand_edited_port_of_odd_digits_is_not_a_port():
    assert split_host_port("hub.example:²5") == ("hub.example:²5", 25)
    assert split_host_port("[::1]:①") == ("::1", 25)
    assert split_host_port("hub.example:2525") == ("hub.example", 2525)


def test_an_exit_registration_of_odd_digits_names_its_record():
    line = "\t".join(["QIBM_QTMS_SMTP_EXIT", "SMTP0100", "²", "/bin/true", "30",
                      "*CONTINUE", "", "*RELEASED", "1"])
    with pytest.raises(RegistryError):
        parse_registry(line + "\n")
