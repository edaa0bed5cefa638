"""Local submissions through the exit point: no bypass for mail that never saw SMTP.

SNDSMTPEMM and the maildrop hand mail to the client job or the queue runner, not to a
server job. When either picks a submission up (qtsmtp.delivery.submit.pickup), it asks
a ``SubmissionScreen`` first, which calls the released exit programs of
QIBM_QTMS_SMTP_EXIT as for one SMTP session: CONNECT, MAIL, RCPT for each recipient,
DATA with the whole message, DISCONNECT (reason QUIT), with client_address ``*LOCAL``
and ``submitter`` the submitting user. A policy written for the exit therefore applies
to local mail too, at whichever command it looks. The first refusal refuses the
submission (the caller bounces it to the submitter; a 4xx leaves it in the maildrop for
the next run).

The screen lives in the delivery process, which runs no event loop of its own while it
picks up: the calls run on a private loop, one submission at a time, with the exit
point's own rules (time budgets, default actions, the job log's TCP6020-TCP6086).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from qtsmtp.config.exitreg import RegistryError
from qtsmtp.server.exits import (CONNECT, DISCONNECT, LOCAL_CLIENT, QUIT, REJECT, ExitEvent,
                                 ExitSource, SessionExits)


UNREADABLE = "451 4.7.1 exit program registration not readable"


class SubmissionScreen:
    def __init__(self, root: Path, log):
        self.root = Path(root)
        self.log = log
        self.source: ExitSource | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._open()

    def _open(self) -> None:
        try:
            self.source = ExitSource(self.root, self.log)
        except (RegistryError, OSError) as bad:
            # A registration this job cannot read must not let local mail past the exit:
            # submissions wait in the maildrop (TCP6098) until it reads again.
            self.log.send("TCP6023", bad)

    def __call__(self, queue_id: str, user: str, sender: str, recipients: list[str],
                 content: bytes) -> str | None:
        """None when the programs let the submission go; else the reply that refuses it."""
        if self.source is None:
            self._open()
            if self.source is None:
                return UNREADABLE
        if self.source.needs_reload():
            error = self.source.reload()
            if error is not None:
                self.log.send("TCP6023", error)
        if not self.source.current:
            return None
        if self.loop is None:
            self.loop = asyncio.new_event_loop()
        return self.loop.run_until_complete(
            self._screen(queue_id, user, sender, recipients, content))

    async def _screen(self, queue_id, user, sender, recipients, content) -> str | None:
        chain = self.source.hold()
        exits = SessionExits(chain, self.log, f"submission {queue_id} of user {user}",
                             self.source)

        def event(command: str, argument: str, **more) -> ExitEvent:
            return ExitEvent(command, argument, LOCAL_CLIENT, 0, f"local-{queue_id}",
                             submitter=user, **more)

        steps = [event(CONNECT, ""),
                 event("MAIL", f"FROM:<{sender}>", sender=sender)]
        for n, recipient in enumerate(recipients):
            steps.append(event("RCPT", f"TO:<{recipient}>", sender=sender,
                               recipients=tuple(recipients[:n]), recipient=recipient))
        steps.append(event("DATA", "", sender=sender, recipients=tuple(recipients),
                           content=content))
        try:
            for step in steps:
                verdict = await exits.check(step)
                if verdict.action == REJECT:
                    return verdict.reply()
            return None
        finally:
            waiting = exits.end(event(DISCONNECT, QUIT, reason=QUIT))
            if waiting is not None:
                await waiting
            self.source.release(chain)
            await self.source.close_retired()

    def close(self) -> None:
        """End the external programs and threads (the job or the queue run ends)."""
        if self.source is None:
            return
        loop = self.loop or asyncio.new_event_loop()
        try:
            loop.run_until_complete(self.source.close())
        finally:
            loop.close()
            self.loop = None
