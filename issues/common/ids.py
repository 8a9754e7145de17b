"""Numbers and ids as a request sends them: ASCII digits in the databases' range, or nothing.

int() alone takes "+5", " 5", "5_000", "²" and full-width digits, raises on 5,000 digits, and an
id past 64 bits made the database raise (an OverflowError on SQLite): each was a 500 somewhere."""

from __future__ import annotations

LARGEST_ID = 2**63 - 1  # the databases' signed 64-bit integer
LONGEST_NUMBER = 100  # digits: more is nobody's number, and int() gives up at 4,300


def whole_number(raw: object) -> int | None:
    """A number of ASCII digits ("007" is 7); None for anything else."""
    if not (isinstance(raw, str) and raw.isascii() and raw.isdigit()) or len(raw) > LONGEST_NUMBER:
        return None
    return int(raw)


def parse_id(raw: object) -> int | None:
    """A row id from a query string, a form or JSON: a whole number from 1 to LARGEST_ID, as text
    or as a JSON integer (never a bool, never 1.5); None for anything else, which can then match
    nothing rather than reach the database."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    number = whole_number(raw)
    return number if number and number <= LARGEST_ID else None
