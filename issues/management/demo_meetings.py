"""The demo plant's past daily QRQC meetings (seed_demo): each workshop met every working day of
the past week at 08:30, decided on its first agenda items and signed the sheet; today's meeting
is left for the visitor to start."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

from issues.meetings import meeting as meetings
from issues.models import Attendance, Plant

MEETING_TIME = dt.time(8, 30)
DECISIONS = [
    "Containment holds; owner to report the root cause tomorrow. 遏制有效，责任人明天汇报根本原因。",
    "Sort the warehouse stock by end of shift; quality to witness. 下班前完成库存挑选，质量部见证。",
    "5-why with the line and maintenance at 14:00 on the line. 14:00 现场与维修一起做五问法分析。",
    "Add a 100% check at the station until the fix is validated. 整改验证前该工位100%检验。",
    "Ask the supplier for an 8D within 24 h. 要求供应商24小时内提交8D。",
]


def seed_meetings(plant: Plant, people: dict, now: dt.datetime, set_clock: Callable[[dt.datetime | None], None]):
    """Past meetings of each workshop, oldest first so each problem keeps its latest decision."""
    rng = random.Random(5)
    today = now.astimezone(plant.zone).date()
    days = [today - dt.timedelta(days=n) for n in range(7, 0, -1)]
    for day in (day for day in days if day.weekday() < 5):
        for workshop in plant.workshops.order_by("code"):
            chair = people[f"director.{workshop.code}"]
            started = dt.datetime.combine(day, MEETING_TIME, tzinfo=plant.zone)
            set_clock(started)
            meeting = meetings.start_meeting(chair, plant, workshop, now=started)
            for number, row in enumerate(meeting.attendances.filter(state=Attendance.State.UNKNOWN)):
                if number == 5 and day.weekday() == 4:
                    continue
                state, stand_in_name = Attendance.State.PRESENT, ""
                if number == 3 and day.weekday() == 1:
                    state, stand_in_name = Attendance.State.STAND_IN, "Qian Lu 钱璐"
                elif number == 4 and day.weekday() == 3:
                    state = Attendance.State.ABSENT
                meetings.set_attendance(
                    row, user=chair, state=state, stand_in_name=stand_in_name, now=started + dt.timedelta(minutes=1)
                )
            for minute, item in enumerate(meeting.items.all()[:3], start=2):
                set_clock(started + dt.timedelta(minutes=minute))
                meetings.record_decision(
                    item, user=chair, text=rng.choice(DECISIONS), now=started + dt.timedelta(minutes=minute)
                )
            ended = started + dt.timedelta(minutes=rng.randint(9, 16))
            set_clock(ended)
            # Whoever was not signed for on a Friday stays "absent without leave", as in real life.
            meetings.end_meeting(meeting, user=chair, now=ended)
    set_clock(None)
