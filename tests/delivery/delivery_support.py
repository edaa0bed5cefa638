"""Helpers for the delivery tests (a module of its own: "conftest" is not a unique name)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from e2e_support import Server


def queue_message(root: Path, sender: str, recipients: list[str], body: bytes) -> str:
    """Put a message in incoming/ as a server job would (its writer, its format)."""
    from datetime import datetime, timezone
    from qtsmtp.queue.writer import QueueWriter, prepare
    prepare(root)
    writer = QueueWriter(root)
    queue_id = writer.new_id()
    envelope = {"id": queue_id, "arrival": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "client": "127.0.0.2", "client_port": 1, "helo": "client.test",
                "protocol": "ESMTP", "sender": sender, "recipients": recipients,
                "written": recipients, "size": len(body), "server_job": "000001"}
    try:
        writer.store(queue_id, envelope, body)
        writer.notify()
    finally:
        writer.close()
    return queue_id


def runqueue(server: Server, *args: str) -> subprocess.CompletedProcess:
    return server.run("qtsmtp", "runqueue", *args)
