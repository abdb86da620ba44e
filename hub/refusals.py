"""Why a service refuses a request: one exception shape for every service (a notification not
accepted, a broadcast not started...), turned into a problem+json by the API in one place
(``hub.api.problems.refused_problem``)."""

from __future__ import annotations


class Refused(Exception):
    """The request cannot be carried out and nothing was changed. ``code`` is stable;
    ``field`` names the culprit; ``status`` is the HTTP status the API answers with."""

    def __init__(self, code: str, detail: str, *, field: str = "", status: int = 422) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.field = field
        self.status = status
