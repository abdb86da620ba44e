"""The embedded broker: kombu's filesystem transport, made safe for concurrent writers and readers.

kombu's own transport (celery/kombu#1551) writes a message file in place, so a reader listing
the folder can open it before its writer has finished, fail on half a JSON document, and stop
the worker; two readers can also both move the same file. Here a message is written under a
temporary name in a subfolder, flushed to disk and renamed into the queue folder (a rename
within one filesystem is atomic: a reader sees no file or the whole of it). A reader claims a
file by renaming it into ``.claimed/`` (only one reader's rename succeeds), and a file that
still does not parse is moved to ``quarantine/`` and logged as an error instead of stopping the
worker. File names keep kombu's format, so messages queued by either transport are read by both.

Limits: one machine (or one shared filesystem with atomic rename); a message claimed by a
worker that is killed before it acknowledges is lost, as with kombu's transport; processed
files are never kept (``store_processed`` is not supported).
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path
from queue import Empty
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

logger = logging.getLogger("hub.workers.embedded_broker")

WRITING = ".writing"
CLAIMED = ".claimed"
QUARANTINE = "quarantine"


class Channel(filesystem.Channel):
    # The kombu stubs give _put two signatures (filesystem's and its base's): match filesystem's.
    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        """Put a message on ``queue``; it becomes visible only once complete."""
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        folder = Path(self.data_folder_out)
        temporary = folder / WRITING / name
        try:
            temporary.parent.mkdir(exist_ok=True)
            with temporary.open("wb") as out:
                out.write(str_to_bytes(dumps(payload)))
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, folder / name)
        except OSError as exc:
            raise ChannelError(f"Cannot add a message to {folder}") from exc

    def _get(self, queue: str, timeout: float | None = None) -> Any:
        """Take the oldest readable message from ``queue``; quarantine any that is unreadable."""
        wanted = f"{queue}.msg"
        folder = Path(self.data_folder_in)
        claimed_folder = folder / CLAIMED
        claimed_folder.mkdir(exist_ok=True)
        for name in sorted(os.listdir(folder)):
            if name.partition(".")[2] != wanted:
                continue
            claimed = claimed_folder / name
            try:
                os.rename(folder / name, claimed)
            except OSError:
                continue  # another reader claimed it first
            try:
                message = loads(bytes_to_str(claimed.read_bytes()))
                if not isinstance(message, dict):
                    raise TypeError("not a JSON object")
            except (OSError, ValueError, TypeError) as exc:  # ValueError: bad JSON or bad UTF-8
                self._quarantine(claimed, exc)
                continue
            claimed.unlink()
            return message
        raise Empty()

    def _quarantine(self, claimed: Path, exc: Exception) -> None:
        target = Path(self.data_folder_in) / QUARANTINE / claimed.name
        target.parent.mkdir(exist_ok=True)
        os.replace(claimed, target)
        logger.error(
            "embedded broker: unreadable message moved to quarantine %s (%s)", target, type(exc).__name__
        )


class Transport(filesystem.Transport):
    Channel = Channel
