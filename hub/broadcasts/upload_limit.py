"""The CSV upload's size limit, enforced while the file streams in.

Django's upload handlers otherwise take the whole file (in memory up to
``FILE_UPLOAD_MAX_MEMORY_SIZE``, then a temporary file) before any form can look at its size.
This handler goes first: it counts the file's bytes as the parser hands them over and, at the
limit, stops the upload without reading the rest of the body (``connection_reset``)."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadhandler import FileUploadHandler, StopUpload

CSV_MAX_BYTES = 50 * 1024 * 1024


class CsvSizeLimit(FileUploadHandler):
    """Stops the upload once its files exceed ``CSV_MAX_BYTES``; ``exceeded`` tells the view."""

    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.limit = CSV_MAX_BYTES
        self.received = 0
        self.exceeded = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.exceeded = True
            raise StopUpload(connection_reset=True)
        return raw_data  # on to the next handler, which stores it

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler makes the file
