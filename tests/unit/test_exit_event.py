"""What an exit program is told about a session: the AUTH user comes from aiosmtpd's
auth_data, the public attribute (login_data is deprecated and warns on every read)."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

from aiosmtpd.smtp import LoginPassword

from qtsmtp.server.secure import exit_event


def session(authenticated: bool, auth_data=None):
    return SimpleNamespace(host_name="client.example", peer=("127.0.0.5", 40000), ssl=None,
                           authenticated=authenticated, auth_data=auth_data, qtsmtp_id=None)


def test_the_authenticated_user_is_the_login_of_auth_data():
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # a deprecation warning would fail here
        event = exit_event(session(True, LoginPassword(b"alice", b"secret")), None, "MAIL", "")
    assert event.authenticated_user == "alice"
    assert event.client_address == "127.0.0.5"


def test_no_user_without_authentication():
    event = exit_event(session(False, LoginPassword(b"alice", b"secret")), None, "MAIL", "")
    assert event.authenticated_user is None
