"""A Dramatiq middleware of the soak's processes: every message a worker is about to process, and
every message the process enqueues, appended as it is (the payload Redis held) to
``$SOAK_MESSAGES_DIR/<pid>.jsonl``. The secret scan (I5) reads them all after the run."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import IO, Any

import dramatiq
from dramatiq.broker import MessageProxy


class MessageLog(dramatiq.Middleware):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[int, IO[bytes]] = {}

    def _out(self) -> IO[bytes] | None:
        folder = os.environ.get("SOAK_MESSAGES_DIR")
        if not folder:
            return None
        pid = os.getpid()  # one file per process: worker processes are forked after import
        if pid not in self._files:
            self._files[pid] = (Path(folder) / f"{pid}.jsonl").open("ab", buffering=0)
        return self._files[pid]

    def _write(self, message: dramatiq.Message[Any] | MessageProxy) -> None:
        with self._lock:
            out = self._out()
            if out is not None:
                out.write(message.encode() + b"\n")

    def after_enqueue(self, broker: dramatiq.Broker, message: dramatiq.Message[Any], delay: int | None) -> None:
        self._write(message)

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        self._write(message)
