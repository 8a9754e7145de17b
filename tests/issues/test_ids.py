"""Numbers and ids as requests send them (issues.common.ids): one rule for the API's limit and
offset, its ids, the list filters, the Q chart's parameters and the live grade preview."""

from __future__ import annotations

import pytest

from issues.common.ids import LARGEST_ID, parse_id, whole_number

NOT_NUMBERS = ["", "-1", "+1", " 1", "1 ", "1.5", "1e3", "1_000", "１", "²", "abc", "9" * 5000, None, 1.0, [1]]


@pytest.mark.parametrize(
    ("raw", "number"),
    [("0", 0), ("7", 7), ("007", 7), (str(2**63), 2**63), ("9" * 100, int("9" * 100)), ("9" * 101, None)],
)
def test_a_whole_number_is_ascii_digits(raw, number):
    assert whole_number(raw) == number


@pytest.mark.parametrize("raw", NOT_NUMBERS)
def test_anything_else_is_not_a_whole_number(raw):
    assert whole_number(raw) is None


@pytest.mark.parametrize(
    ("raw", "pk"),
    [
        ("1", 1),
        ("42", 42),
        (42, 42),  # a JSON integer
        (str(LARGEST_ID), LARGEST_ID),
        (LARGEST_ID, LARGEST_ID),
        ("0", None),
        (0, None),
        (-3, None),
        (2**63, None),
        (str(2**64), None),
        (True, None),  # JSON true is not id 1
        (1.5, None),
    ],
)
def test_an_id_is_a_whole_number_from_one_to_the_largest(raw, pk):
    assert parse_id(raw) == pk


@pytest.mark.parametrize("raw", NOT_NUMBERS)
def test_anything_else_is_no_id(raw):
    assert parse_id(raw) is None
