"""Provider errors: retryable or permanent, always with the vendor's own code kept."""

from __future__ import annotations


class ProviderError(Exception):
    """Base of every provider failure. ``code`` is the vendor's code (e.g. Twilio 21211)."""

    retryable = False

    def __init__(self, message: str, *, code: str = "", http_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status


class RetryableProviderError(ProviderError):
    """Try again later: timeouts, 5xx, 429. ``retry_after`` is the vendor's hint in seconds."""

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        http_status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, code=code, http_status=http_status)
        self.retry_after = retry_after


class PermanentProviderError(ProviderError):
    """Never retry.

    ``suppress``: the address must not be sent to again (``suppression_reason`` says why, one of
    ``hub.contacts.models.SuppressionReason``); ``withdraw_consent``: the person said stop;
    ``remove_device``: the push token or subscription is gone for good.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        http_status: int | None = None,
        suppress: bool = False,
        suppression_reason: str = "invalid",
        withdraw_consent: bool = False,
        remove_device: bool = False,
    ) -> None:
        super().__init__(message, code=code, http_status=http_status)
        self.suppress = suppress
        self.suppression_reason = suppression_reason
        self.withdraw_consent = withdraw_consent
        self.remove_device = remove_device


class ProviderConfigurationError(ProviderError):
    """Our credentials or settings are wrong (e.g. 401): an operator must act; retrying won't help."""


class UnexpectedProviderError(ProviderError):
    """The provider module failed in a way it did not map (a bug): the outcome is unknown."""
