"""Checking the audit log from a test: sequence what is pending, then verify the whole log."""

from __future__ import annotations

from audit.sequencer import audit_sequence
from audit.verify import LogReport, audit_log_verify


def audit_log_sequenced_and_verified() -> LogReport:
    """Every record written so far put into the Merkle tree, then the log verified."""
    audit_sequence()
    return audit_log_verify()
