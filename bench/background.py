"""A thread that runs beside a measurement until the ``with`` block ends."""

from __future__ import annotations

import threading
from typing import Self


class Background:
    """Subclasses implement ``run`` and return from it once ``self.stopping`` is set."""

    def __init__(self, name: str) -> None:
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self.run, name=name, daemon=True)

    def run(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._thread.join()
