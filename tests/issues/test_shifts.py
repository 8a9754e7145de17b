import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from issues.models import Shift
from issues.problems.intake import shift_at

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (dt.time(7, 59), "night"),
        (dt.time(8, 0), "day"),
        (dt.time(19, 59), "day"),
        (dt.time(20, 0), "night"),
        (dt.time(23, 59), "night"),
        (dt.time(0, 0), "night"),
    ],
)
def test_the_shift_is_found_in_plant_local_time_even_across_midnight(world, local, expected):
    occurred = dt.datetime.combine(dt.date(2026, 11, 20), local, tzinfo=SHANGHAI).astimezone(dt.UTC)
    assert shift_at(world.plant, occurred).code == expected


def test_a_shift_ending_before_it_starts_crosses_midnight():
    night = Shift(starts=dt.time(22), ends=dt.time(6))
    assert night.crosses_midnight
    assert night.covers(dt.time(23)) and night.covers(dt.time(5, 59))
    assert not night.covers(dt.time(6)) and not night.covers(dt.time(21, 59))


def test_no_shift_covers_a_gap_between_shifts(world):
    world.day.ends = dt.time(18)
    world.day.save()
    occurred = dt.datetime(2026, 11, 20, 19, tzinfo=SHANGHAI)
    assert shift_at(world.plant, occurred) is None
