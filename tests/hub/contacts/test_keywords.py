"""SMS keyword classification, including a property test over opt-out variants."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.contacts.keywords import OPT_OUT_WORDS, SmsKeyword, keyword_classify

PUNCTUATION = st.text(alphabet=" \t\n.,!?;:-_'\"()*~", max_size=6)


@st.composite
def opt_out_variants(draw: st.DrawFn) -> str:
    word = draw(st.sampled_from(sorted(OPT_OUT_WORDS)))
    cased = "".join(
        c.upper() if up else c.lower()
        for c, up in zip(
            word, draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word))), strict=True
        )
    )
    if " " in cased:  # "OPT OUT" may also arrive as "opt-out", "opt  out", "opt_out"
        cased = cased.replace(" ", draw(st.sampled_from([" ", "  ", "-", "_", ". "])))
    return draw(PUNCTUATION) + cased + draw(PUNCTUATION)


@given(opt_out_variants())
def test_every_opt_out_variant_classifies_as_opt_out(body):
    assert keyword_classify(body) == SmsKeyword.OPT_OUT


@pytest.mark.parametrize(
    ("body", "keyword"),
    [
        ("Start", SmsKeyword.OPT_IN),
        (" yes! ", SmsKeyword.OPT_IN),
        ("UNSTOP", SmsKeyword.OPT_IN),
        ("help?", SmsKeyword.HELP),
        ("Info", SmsKeyword.HELP),
        ("please don't stop", SmsKeyword.NONE),
        ("stopping", SmsKeyword.NONE),
        ("", SmsKeyword.NONE),
        ("Thanks, got it", SmsKeyword.NONE),
    ],
)
def test_other_replies(body, keyword):
    assert keyword_classify(body) == keyword
