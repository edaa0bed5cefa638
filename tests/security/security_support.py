"""Helpers of the security tests (a module of its own: 'conftest' is ambiguous when
tests/e2e runs in the same session)."""

from __future__ import annotations

import subprocess

from e2e_support import Server, script


def add_user(server: Server, user: str, password: str) -> None:
    """ADDSMTPAUT with the password on standard input, as an administrator would."""
    subprocess.run([script("addsmtpaut"), user], input=password + "\n", text=True,
                   env=server.env, check=True, capture_output=True, timeout=60)
