"""A child process's end, awaited in a server job's event loop without stopping it.

Popen.wait() inside the loop is a waitpid that stops every session of the job until the
child ends. Here the loop watches a pidfd (Linux 5.3: readable once the process has
ended) and reaps the child only then, with a non-blocking waitpid (Popen.poll). Where
pidfd_open is refused (an older kernel, a seccomp filter), it looks every
POLL_SECONDS instead.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess

POLL_SECONDS = 0.05


async def ended(process: subprocess.Popen, timeout: float) -> bool:
    """Wait at most ``timeout`` seconds for ``process`` to end; reap it if it has."""
    if process.poll() is not None:
        return True
    loop = asyncio.get_running_loop()
    try:
        pidfd = os.pidfd_open(process.pid)
    except OSError:
        deadline = loop.time() + timeout
        while process.poll() is None and loop.time() < deadline:
            await asyncio.sleep(POLL_SECONDS)
        return process.returncode is not None
    gone = loop.create_future()
    loop.add_reader(pidfd, lambda: gone.done() or gone.set_result(None))
    try:
        await asyncio.wait_for(gone, timeout)
    except TimeoutError:
        pass
    finally:
        loop.remove_reader(pidfd)
        os.close(pidfd)
    return process.poll() is not None


async def reap(process: subprocess.Popen, timeout: float) -> str:
    """Let ``process`` end by itself within ``timeout`` seconds, else kill it; how it
    ended, in words ("exit status 0", "signal 9 (SIGKILL)"). A process that not even
    SIGKILL ends within ``timeout`` (asleep in the kernel: a disk that does not
    answer) is left for init to reap once the job has ended."""
    if not await ended(process, timeout):
        process.kill()
        if not await ended(process, timeout):
            return "still running after SIGKILL"
    code = process.returncode
    return f"signal {-code} ({signal.Signals(-code).name})" if code < 0 else f"exit status {code}"
