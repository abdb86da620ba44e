"""SMS keywords: what a one-word reply asks for (CTIA / Twilio Advanced Opt-Out vocabulary).

A reply is a keyword only when the whole message is that keyword, in any case, with any
surrounding spaces and punctuation ("Stop.", "  stop!! ", "Opt-out"). "Please don't stop"
is an ordinary reply.
"""

from __future__ import annotations

import re

from django.db import models


class SmsKeyword(models.TextChoices):
    OPT_OUT = "opt_out", "Opt-out"
    OPT_IN = "opt_in", "Opt-in"
    HELP = "help", "Help"
    NONE = "", "Not a keyword"


OPT_OUT_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT"}
)
OPT_IN_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})

_NOT_A_LETTER = re.compile(r"[\W_]+", re.UNICODE)


def keyword_normalise(body: str) -> str:
    """Upper case, punctuation and runs of whitespace turned into single spaces, trimmed."""
    return " ".join(_NOT_A_LETTER.sub(" ", body).split()).upper()


def keyword_classify(body: str) -> SmsKeyword:
    """The keyword a reply is, or ``SmsKeyword.NONE``."""
    word = keyword_normalise(body)
    if word in OPT_OUT_WORDS:
        return SmsKeyword.OPT_OUT
    if word in OPT_IN_WORDS:
        return SmsKeyword.OPT_IN
    if word in HELP_WORDS:
        return SmsKeyword.HELP
    return SmsKeyword.NONE
