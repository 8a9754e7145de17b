"""A realistic demo plant: two workshops, six lines, three shifts, a person in every role,
three weeks of problems graded by the real threshold table, and their 8D reports."""

from __future__ import annotations

import datetime as dt
import random

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from simple_history.signals import pre_create_historical_record

from escalation.models import EscalationEvent
from escalation.sweep import alarm_one, escalate_one, notice_one
from escalation.tasks import kicks_paused
from issues.common.scope import assign_role
from issues.eightd import solving
from issues.management.demo_eightd import (
    CUSTOMER,
    HOUR,
    PARTS,
    RETURN_REASON,
    SPECIALISTS,
    STORIES,
    Stage,
    answers,
    draft_d3,
    story_of,
    thin_d4,
    timeline,
)
from issues.management.demo_meetings import seed_meetings
from issues.models import FailureMode, Line, Plant, Problem, Profile, Role, Section, Shift, Source, Station, Workshop
from issues.plant_setup import set_up_plant
from issues.problems.intake import Report, report_problem
from issues.problems.lifecycle import assign_owner, close_problem, contain, needs_eightd

DEMO_PASSWORD = "qrqc-demo"

WORKSHOPS = [
    (
        "assembly",
        "Assembly workshop",
        "总装车间",
        [
            ("a1", "Assembly line 1", "总装一线"),
            ("a2", "Assembly line 2", "总装二线"),
            ("a3", "Assembly line 3", "总装三线"),
        ],
    ),
    (
        "machining",
        "Machining workshop",
        "机加车间",
        [
            ("m1", "Machining line 1", "机加一线"),
            ("m2", "Machining line 2", "机加二线"),
            ("m3", "Machining line 3", "机加三线"),
        ],
    ),
]
SHIFTS = [
    ("day", "Day shift", "早班", dt.time(6), dt.time(14)),
    ("swing", "Swing shift", "中班", dt.time(14), dt.time(22)),
    ("night", "Night shift", "夜班", dt.time(22), dt.time(6)),
]
FAILURE_MODES = [
    ("quality", "Burr on flange", "法兰毛刺"),
    ("quality", "Missing part", "漏装"),
    ("quality", "Wrong part", "错装"),
    ("quality", "Leak", "泄漏"),
    ("quality", "Dimension out of tolerance", "尺寸超差"),
    ("quality", "Scratch", "划伤"),
    ("quality", "Torque out of specification", "扭矩不合格"),
    ("quality", "Poor weld", "焊接不良"),
    ("equipment", "Spindle breakdown", "主轴故障"),
    ("equipment", "Robot alarm", "机器人报警"),
    ("utilities", "Compressed air pressure low", "压缩空气压力低"),
    ("utilities", "Power cut", "停电"),
    ("material", "Material shortage", "缺料"),
    ("material", "Supplier part defective", "来料不良"),
    ("safety", "Guard removed", "防护罩拆除"),
    ("safety", "Slippery floor", "地面湿滑"),
    ("people", "Operator absent", "员工缺勤"),
    ("people", "Untrained stand-in", "顶岗人员未培训"),
]
# (username, display name, role, scope kind, scope code)
PEOPLE = [
    ("admin", "Plant administrator 系统管理员", None, None, None),
    ("operator.a1", "Wang Fang 王芳", Role.OPERATOR, "line", "a1"),
    ("inspector.assembly", "Li Na 李娜", Role.QC_INSPECTOR, "workshop", "assembly"),
    ("technician.machining", "Zhao Lei 赵磊", Role.MAINTENANCE_TECHNICIAN, "workshop", "machining"),
    ("leader.a1", "Zhang Wei 张伟", Role.TEAM_LEADER, "line", "a1"),
    ("leader.a2", "Liu Yang 刘洋", Role.TEAM_LEADER, "line", "a2"),
    ("leader.a3", "Chen Jing 陈静", Role.TEAM_LEADER, "line", "a3"),
    ("leader.m1", "Yang Jun 杨军", Role.TEAM_LEADER, "line", "m1"),
    ("leader.m2", "Huang Min 黄敏", Role.TEAM_LEADER, "line", "m2"),
    ("leader.m3", "Zhou Tao 周涛", Role.TEAM_LEADER, "line", "m3"),
    ("engineer.quality", "Wu Xia 吴霞", Role.QUALITY_ENGINEER, "plant", None),
    ("engineer.equipment", "Xu Gang 徐刚", Role.EQUIPMENT_ENGINEER, "plant", None),
    ("engineer.utilities", "Sun Hao 孙浩", Role.UTILITIES_ENGINEER, "plant", None),
    ("director.assembly", "Ma Li 马丽", Role.WORKSHOP_DIRECTOR, "workshop", "assembly"),
    ("director.machining", "Zhu Qiang 朱强", Role.WORKSHOP_DIRECTOR, "workshop", "machining"),
    ("chief.inspection", "Hu Yan 胡燕", Role.INSPECTION_SECTION_CHIEF, "plant", None),
    ("chief.maintenance", "Guo Bin 郭斌", Role.MAINTENANCE_SECTION_CHIEF, "plant", None),
    ("manager.production", "He Ping 何平", Role.PRODUCTION_MANAGER, "plant", None),
    ("manager.quality", "Lin Hui 林慧", Role.QUALITY_MANAGER, "plant", None),
    ("manager.engineering", "Luo Jian 罗建", Role.ENGINEERING_MANAGER, "plant", None),
    ("deputy.gm", "Gao Feng 高峰", Role.DEPUTY_GENERAL_MANAGER, "plant", None),
    ("gm", "Liang Hong 梁红", Role.GENERAL_MANAGER, "plant", None),
]
CONTAINMENTS = [
    "隔离在制品并100%全检 / WIP quarantined, 100 % inspection",
    "停机更换刀具后首件确认 / tool changed, first piece approved",
    "追回成品库存并挑选 / finished stock recalled and sorted",
    "临时增加检验工位 / temporary inspection station added",
]
# A small problem: the control plan already covers it; nothing else to update.
QUICK_FIX_CHECKLIST = {
    "pfmea": {"status": "na", "reason": "失效模式已在PFMEA中 / failure mode already in the PFMEA"},
    "dfmea": {"status": "na", "reason": "非设计问题 / not a design problem"},
    "control_plan": {"status": "na", "reason": "控制计划已覆盖 / the control plan covers it"},
    "work_instruction": {"status": "na", "reason": "作业指导书无需更改 / no change to the work instruction"},
}
# (line, minutes ago, title, failure mode, cause family, facts): they reach level 4 and 3 live
# after start-up; a1 and a2 repeat the 8Ds closed on those lines ("already known?").
LIVE_PROBLEMS = [
    ("a1", 2, "OP30 漏气测试失败 / leak test failing at OP30", "Leak", "method", {"defect_class": "A", "defect_count": 25}),
    ("a2", 4, "螺栓扭矩偏低 / bolt torque low", "Torque out of specification", "machine", {"defect_class": "A", "defect_count": 14}),
    ("m1", 27, "孔径超差批量 / bore oversize, batch", "Dimension out of tolerance", "machine", {"batch_problem": True}),
]  # fmt: skip
STAFF_ROLES = {Role.QUALITY_MANAGER, Role.QUALITY_ENGINEER}


# Problems placed for the 8D board (line, hours ago, title, A-class defects: 25 → A, 15 → B, stage).
SHOWCASE = [
    ("a1", 200, "壳体泄漏 / housing leak", 25, Stage.SOLVED_AFTER_RETURN),
    ("a2", 150, "螺栓扭矩不足 / bolt torque low", 15, Stage.SOLVED),
    ("a1", 70, "OP20 法兰毛刺 / burr on flange", 25, Stage.IN_REVIEW),
    ("m1", 60, "孔径超差 / bore oversize", 15, Stage.NO_OWNER),
    ("a2", 54, "漏装垫片 / washer missing", 15, Stage.REWORK),
    ("m2", 30, "外观划伤 / surface scratch", 15, Stage.STARTED),
]
SOLVED_AFTER = dt.timedelta(days=5)  # history A/B problems older than this have a closed 8D


def demo_facts(category: str, rng: random.Random) -> dict:
    if category == "quality":
        facts = {"defect_class": rng.choice("ABBCC"), "defect_count": rng.choice([2, 4, 6, 8, 12, 15, 25, 45])}
        facts["consecutive_count"] = min(facts["defect_count"], rng.choice([1, 2, 3, 6]))
        if rng.random() < 0.08:
            facts["customer_complaint"] = True
        if rng.random() < 0.1:
            facts["zero_tolerance_count"] = 1
        return facts
    if category == "equipment":
        return {"downtime_minutes": rng.choice([15, 30, 45, 75, 130]), "characteristic_class": rng.choice("BCC")}
    if category == "utilities":
        return {"interruption_minutes": rng.choice([10, 40, 70, 150])}
    if category == "material":
        return {"line_stop_minutes": rng.choice([20, 45, 90]), "incoming_abnormal": rng.random() < 0.3}
    if category == "safety":
        return {"procedure_violation": True} if rng.random() < 0.7 else {"incident": True}
    return {"individual_absence": True}


class Command(BaseCommand):
    help = "Create the demo plant SZ1 with people, lines, shifts, three weeks of graded problems and their 8Ds."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=21)
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, days: int, seed: int, **options):
        if Plant.objects.filter(code="sz1").exists():
            self.stdout.write("Demo plant SZ1 already exists; nothing added.")
        else:
            # The replay's history records carry the time they stand for, not the seed's.
            self.clock: dt.datetime | None = None
            pre_create_historical_record.connect(self.date_record, dispatch_uid="seed_demo")
            try:
                with kicks_paused(), transaction.atomic():  # commit (and its on_commit kicks) while paused
                    plant = self.build_plant()
                    self.build_history(plant, days, random.Random(seed))
                    seed_meetings(plant, self.people, timezone.now(), lambda when: setattr(self, "clock", when))
            finally:
                pre_create_historical_record.disconnect(dispatch_uid="seed_demo")
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo plant SZ1 created with {Problem.objects.filter(plant=plant).count()} problems."
                )
            )
        self.stdout.write(
            f"Demo logins (password {DEMO_PASSWORD}): admin, leader.a1 (team leader), engineer.quality, director.assembly, manager.quality, gm"
        )

    def date_record(self, sender, history_instance, **kwargs) -> None:
        if self.clock is not None:
            history_instance.history_date = self.clock

    def build_plant(self) -> Plant:
        plant = Plant.objects.create(code="sz1", name_en="Suzhou Plant 1", name_zh="苏州一厂", timezone="Asia/Shanghai")
        set_up_plant(plant)
        lines = {}
        for code, name_en, name_zh, line_specs in WORKSHOPS:
            workshop = Workshop.objects.create(plant=plant, code=code, name_en=name_en, name_zh=name_zh)
            for line_code, line_en, line_zh in line_specs:
                line = Line.objects.create(workshop=workshop, code=line_code, name_en=line_en, name_zh=line_zh)
                Station.objects.bulk_create(
                    Station(line=line, code=f"op{n}0", name_en=f"OP{n}0", name_zh=f"OP{n}0 工位") for n in range(1, 6)
                )
                lines[line_code] = line
        for code, name_en, name_zh, starts, ends in SHIFTS:
            Shift.objects.create(plant=plant, code=code, name_en=name_en, name_zh=name_zh, starts=starts, ends=ends)
        FailureMode.objects.bulk_create(
            FailureMode(plant=plant, category=category, name_en=en, name_zh=zh) for category, en, zh in FAILURE_MODES
        )
        workshops = {workshop.code: workshop for workshop in plant.workshops.all()}
        User = get_user_model()
        # One hash for everybody: the password is public anyway, and hashing it per person
        # took most of the seed's time.
        password = make_password(DEMO_PASSWORD)
        for index, (username, display, role, scope_kind, scope_code) in enumerate(PEOPLE, start=1):
            user = User.objects.create(username=username, password=password, email=f"{username}@sz1.example.com")
            home_line = lines.get(scope_code) if scope_kind == "line" else None
            Profile.objects.create(
                user=user,
                display_name=display,
                phone=f"+86 138 0000 {index:04d}",
                home_line=home_line,  # no language: the browser decides until the person taps the switch
            )
            if role is None:
                user.is_staff = user.is_superuser = True
                user.save(update_fields=["is_staff", "is_superuser"])
                continue
            if role in STAFF_ROLES:  # they keep the plant's threshold tables and failure modes
                user.is_staff = True
                user.save(update_fields=["is_staff"])
            assign_role(
                user,
                role,
                plant=plant,
                workshop=workshops.get(scope_code) if scope_kind == "workshop" else None,
                line=home_line,
            )
        return plant

    def build_history(self, plant: Plant, days: int, rng: random.Random) -> None:
        names = [username for username, *_ in PEOPLE]
        people = get_user_model().objects.filter(username__in=names).select_related("profile")
        self.people = {user.username: user for user in people}
        lines = {
            line.code: line for line in Line.objects.filter(workshop__plant=plant).select_related("workshop__plant")
        }
        modes = {mode.name_en: mode for mode in FailureMode.objects.filter(plant=plant)}
        now = timezone.now()
        categories = ["quality"] * 6 + ["equipment", "equipment", "utilities", "material", "safety", "people"]
        # Where problems were found, for the meeting's agenda groups; its own generator keeps the
        # rest of the replay (grades, stories, 8Ds) as it was.
        found_at = random.Random(11)
        sources = (
            [Source.LINE] * 10
            + [Source.CUSTOMER, Source.SUPPLIER, Source.VERIFICATION_STATION]
            + [
                Source.LAYERED_AUDIT,
                Source.SCRAP_REVIEW,
            ]
        )

        def log(line: Line, category: str, title: str, occurred_at: dt.datetime, facts: dict, family: str) -> Problem:
            self.clock = occurred_at
            story = STORIES[category][title]
            report = Report(
                line=line,
                category=category,
                title=title,
                occurred_at=occurred_at,
                facts=facts,
                cause_family=family or story.family,
                failure_mode=modes[story.failure_mode],
                source=found_at.choice(sources),
            )
            return report_problem(report, reporter=self.people[f"leader.{line.code}"])[0]

        for day in range(days, -1, -1):
            for _ in range(rng.randint(2, 6)):
                occurred_at = now - dt.timedelta(days=day, minutes=rng.randint(30, 23 * 60))
                if occurred_at > now:
                    continue
                category = rng.choice(categories)
                # The line's first guess at the cause family; the 8D's fishbone confirms its own.
                family = rng.choice(["man", "machine", "material", "method"])
                line = rng.choice(list(lines.values()))
                problem = log(
                    line, category, rng.choice(list(STORIES[category])), occurred_at, demo_facts(category, rng), family
                )
                old = now - occurred_at > SOLVED_AFTER
                self.live_through(problem, rng, now, Stage.SOLVED if old else Stage.OWNED)
        for code, hours, title, defects, stage in SHOWCASE:
            if hours <= days * 24:
                facts = {"defect_class": "A", "defect_count": defects}
                problem = log(lines[code], "quality", title, now - hours * HOUR, facts, "")
                self.live_through(problem, rng, now, stage)
        self.clock = None
        for code, minutes_ago, title, mode, family, facts in LIVE_PROBLEMS:
            # Three open problems that climb the ladder in the minutes after `make run` starts.
            line = lines[code]
            report = Report(
                line=line,
                category="quality",
                title=title,
                occurred_at=now - dt.timedelta(minutes=minutes_ago),
                facts=facts,
                cause_family=family,
                failure_mode=modes[mode],
            )
            report_problem(report, reporter=self.people[f"leader.{line.code}"])

    def live_through(self, problem: Problem, rng: random.Random, now: dt.datetime, stage: Stage) -> None:
        """Replay a past problem: it escalated until the line contained it, the quality
        manager named an owner, C problems closed on a cause note, A and B ones went through
        their 8D as far as `stage` says. The ledger is written as it happened; nothing is sent now."""
        contained_at = min(problem.occurred_at + dt.timedelta(minutes=rng.choice([3, 8, 12, 25, 40, 75, 130])), now)
        while (problem := Problem.objects.get(pk=problem.pk)).escalate_at and problem.escalate_at <= contained_at:
            escalate_one(problem.pk, problem.escalate_at)
        self.clock = contained_at
        containment = contain(
            problem,
            action=rng.choice(CONTAINMENTS),
            done_by=str(problem.reported_by.profile),
            quantity_secured=rng.choice([0, 12, 40, 120, 300]),
            user=problem.reported_by,
            now=contained_at,
        ).action
        chair, owner = self.people["manager.quality"], self.people["engineer.quality"]
        with_8d = needs_eightd(problem)
        if stage != Stage.NO_OWNER:
            self.clock = assigned_at = min(contained_at + dt.timedelta(minutes=20), now)
            days_to_close = 14 if with_8d else 3
            due = timezone.localtime(problem.occurred_at + dt.timedelta(days=days_to_close), problem.plant.zone).date()
            assign_owner(problem, user=chair, owner=owner, due_date=due, now=assigned_at)
        if not with_8d:
            closed_at = problem.occurred_at + dt.timedelta(days=rng.randint(1, 2))
            if now - problem.occurred_at > dt.timedelta(days=2) and rng.random() < 0.75:
                self.replay_alarms(problem, closed_at)
                self.clock = closed_at
                close_problem(
                    problem,
                    user=owner,
                    cause_note=story_of(problem).cause,
                    checklist=QUICK_FIX_CHECKLIST,
                    now=closed_at,
                )
        elif stage not in (Stage.OWNED, Stage.NO_OWNER):
            self.solve(problem, containment, now, stage)
        self.replay_alarms(problem, now)
        for section in Section.objects.filter(report__problem=problem, notice_at__lte=now):
            while (section := Section.objects.get(pk=section.pk)).notice_at and section.notice_at <= now:
                notice_one(section.pk, section.notice_at)
        EscalationEvent.objects.filter(problem=problem).update(expanded_at=F("fired_at"))

    def replay_alarms(self, problem: Problem, until: dt.datetime) -> None:
        while (problem := Problem.objects.get(pk=problem.pk)).alarm_at and problem.alarm_at <= until:
            alarm_one(problem.pk, problem.alarm_at)

    def solve(self, problem: Problem, containment: str, now: dt.datetime, stage: Stage) -> None:
        """The 8D through the real verbs: the quality engineer answers, the quality manager
        reviews (four eyes), each at the time it happened."""
        author, reviewer = self.people["engineer.quality"], self.people["manager.quality"]
        start = problem.occurred_at
        # Ten days for an 8D; younger ones closed a while ago, each at its own time.
        closing = start + min(dt.timedelta(days=10), (now - start) * 0.85)
        workshop = problem.line.workshop.code
        specialist = SPECIALISTS[problem.category][0]
        cast = {
            "author": author,
            "reviewer": reviewer,
            "leader": self.people[f"leader.{problem.line.code}"],
            "director": self.people[f"director.{workshop}"],
            "specialist": self.people[specialist],
            "inspector": self.people["chief.inspection"],
        }
        content = answers(problem, containment, cast, closing)
        self.clock = start + 2.75 * HOUR  # after the owner is named (at most 2.5 h in), before D0
        report = solving.start_report(problem, user=author, now=self.clock)
        report.customer, (report.part_number, report.part_name) = CUSTOMER, PARTS[workshop]
        report.created_at = self.clock  # auto_now_add stamped the seed's own time
        report._history_user = author
        report.save(update_fields=["customer", "part_number", "part_name", "created_at"])
        if stage == Stage.STARTED:
            return
        hours = timeline(stage, (closing - start) / HOUR, (now - start) / HOUR)
        sections = {section.code: section for section in report.sections.all()}
        for code, verb, after in hours:
            self.clock = when = start + after * HOUR
            section = sections[code]
            if verb == "accept":
                solving.accept(section, user=reviewer, now=when)
            elif verb == "return":
                solving.return_answer(section, user=reviewer, reason=RETURN_REASON, now=when)
            elif verb == "draft":
                solving.save_answer(section, user=author, content=draft_d3(content[code]))
            else:
                answer = thin_d4(content[code]) if verb == "thin" else content[code]
                solving.submit(section, user=author, content=answer, now=when)
        if stage in (Stage.SOLVED, Stage.SOLVED_AFTER_RETURN):
            self.replay_alarms(problem, closing)
            self.clock = closing
            close_problem(problem, user=reviewer, now=closing)
