"""Text that a spreadsheet would run as a formula leaves the hub's CSV files as text."""

from __future__ import annotations

from decimal import Decimal

from hub.csv_cells import csv_dict, csv_row


def test_formula_text_gets_a_quote_and_numbers_stay_numbers():
    assert csv_row(["=1+1", "+44", "-x", "@A1", "\tx", "\rx", "cust-1", -3, Decimal("-0.5"), None]) == [
        "'=1+1", "'+44", "'-x", "'@A1", "'\tx", "'\rx", "cust-1", -3, Decimal("-0.5"), None,
    ]  # fmt: skip
    assert csv_dict({"contact": "=HYPERLINK(1)", "n": 2}) == {"contact": "'=HYPERLINK(1)", "n": 2}
