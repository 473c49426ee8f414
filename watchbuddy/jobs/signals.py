"""The `schedule` command's wait for SIGINT or SIGTERM, whichever thread the kernel hands
the signal to."""

from __future__ import annotations

import contextlib
import select
import signal
import socket
from collections.abc import Sequence
from types import TracebackType
from typing import Any


class StopSignals:
    """SIGINT and SIGTERM, caught for the whole process and waited for on the main thread.

    A signal goes to whichever thread the kernel picks, often a busy job thread. Python then
    runs its handler on the main thread only when that thread next runs Python code, and a
    main thread parked in `Event.wait()` never does, so the stop was never seen (a scheduler
    ignored SIGTERM now and then). The C-level handler writes every signal to a wakeup socket
    from any thread, so the main thread waits on that socket instead. While the block is
    open, later signals are absorbed: a shutdown waiting for its running job is not cut short.
    """

    def __init__(self, signals: Sequence[int] = (signal.SIGINT, signal.SIGTERM)) -> None:
        self.signals = tuple(signals)
        self._previous: dict[int, Any] = {}
        self._previous_fd = -1
        self._read, self._write = socket.socketpair()

    def __enter__(self) -> StopSignals:
        for sock in (self._read, self._write):
            sock.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._write.fileno(), warn_on_full_buffer=False)
        # A Python handler must be set for the C handler to catch the signal at all.
        self._previous = {s: signal.signal(s, lambda *_: None) for s in self.signals}
        return self

    def wait(self) -> int:
        """Block until one of the signals arrives; return it."""
        while True:
            select.select([self._read], [], [])
            with contextlib.suppress(BlockingIOError):
                for signum in self._read.recv(64):
                    if signum in self.signals:
                        return signum

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        signal.set_wakeup_fd(self._previous_fd)
        self._read.close()
        self._write.close()
