"""The demo plant's 8D work (issues/management/commands/seed_demo.py): what each kind of
problem's 8D found, did and learned, as complete answers in the shape issues.eightd.sections stores,
and when each answer was given and reviewed."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import NamedTuple

from django.utils import timezone

from issues.models import Problem

HOUR = dt.timedelta(hours=1)


class Story(NamedTuple):
    """What the 8D of a problem with this title found (D4), did (D5, D6) and learned (D7)."""

    failure_mode: str  # its name_en in FAILURE_MODES
    family: str  # cause family of the confirmed cause
    cause: str  # why it was made; also a C problem's cause note
    why: str  # the next "why?" down
    escape: str  # why it was not caught
    action: str  # permanent action on the cause
    guard: str  # permanent action on the escape
    lesson: str


# One story per title the history logs.
STORIES: dict[str, dict[str, Story]] = {
    "quality": {
        "OP20 法兰毛刺 / burr on flange": Story(
            "Burr on flange", "machine",
            "去毛刺刀具磨损超过寿命 / deburring tool worn past its life",
            "换刀凭经验，没有寿命计数 / tools changed by feel, no life counter",
            "终检光线不足，看不到毛刺 / poor light at final inspection, burr not visible",
            "加装刀具寿命计数器，到寿命自动停机 / tool-life counter stops the machine at end of life",
            "终检增加照明和毛刺限度样件 / lamp and burr limit sample at final inspection",
            "去毛刺刀具按计数寿命更换，不凭经验 / change deburring tools by counted life, not by feel",
        ),
        "漏装垫片 / washer missing": Story(
            "Missing part", "method",
            "料盒空了，员工未察觉继续装配 / feeder box ran empty and assembly went on",
            "工位没有零件到位检测 / no part-present check at the station",
            "下道工序不检查垫片 / the next station does not check the washer",
            "拧紧枪与垫片传感器互锁 / nut runner interlocked with a washer sensor",
            "装盖前由视觉相机检查垫片 / a camera checks the washer before the cover goes on",
            "漏装靠防错互锁拦截，不靠目视 / missing parts are stopped by interlocks, not by eye",
        ),
        "壳体泄漏 / housing leak": Story(
            "Leak", "method",
            "O型圈未涂油，装配时被切伤 / O-ring fitted dry and cut during assembly",
            "涂油步骤不在作业指导书中 / greasing was not in the work instruction",
            "气密测试泄漏限值设置过宽 / leak test limit set too wide",
            "自动涂油并写入作业指导书 / automatic greasing, written into the work instruction",
            "泄漏限值按图纸收紧，每班点检标准件 / leak limit set to the drawing, master part every shift",
            "密封圈装配前必须润滑，测试限值与图纸一致 / grease seals before fitting; test limits follow the drawing",
        ),
        "孔径超差 / bore oversize": Story(
            "Dimension out of tolerance", "machine",
            "换刀后刀补未复位 / tool offset not reset after the tool change",
            "换刀后没有首件检验 / no first-piece check after a tool change",
            "SPC抽检频率每100件一次太低 / SPC sampling of 1 in 100 too sparse",
            "换刀后机内测量首件并锁定刀补 / first piece measured in the machine, offset locked",
            "SPC抽检改为每20件一次 / SPC sampling raised to 1 in 20",
            "换刀后必须首件检验，刀补由程序锁定 / every tool change gets a first-piece check",
        ),
        "外观划伤 / surface scratch": Story(
            "Scratch", "machine",
            "输送线导轨磨损露出金属 / conveyor guide rail worn down to the metal",
            "导轨不在点检表中 / the rail was not on the maintenance checklist",
            "外观检查无标准光源和限度样件 / no standard lamp or limit sample at the visual check",
            "更换为尼龙导轨并纳入周点检 / nylon guide rail, checked weekly",
            "配置标准光源和外观限度样件 / standard lamp and limit samples at the visual check",
            "接触产品的输送部件要纳入点检 / conveyor parts touching the product are on the checklist",
        ),
        "螺栓扭矩不足 / bolt torque low": Story(
            "Torque out of specification", "machine",
            "拧紧枪校准过期，输出扭矩偏低 / nut runner out of calibration, torque low",
            "校准计划漏掉了新拧紧枪 / the new nut runner was missing from the calibration plan",
            "扭矩不合格时设备不报警 / no alarm or stop on a torque NOK",
            "所有拧紧枪纳入校准计划并每日点检 / every nut runner in the calibration plan, checked daily",
            "扭矩NOK自动停线并锁件 / a torque NOK stops the line and locks the part",
            "新拧紧设备投产当天进入校准计划 / new tightening tools join the calibration plan on day one",
        ),
    },
    "equipment": {
        "主轴异响停机 / spindle noise, stopped": Story(
            "Spindle breakdown", "machine",
            "主轴轴承缺润滑损坏 / spindle bearing failed for lack of lubrication",
            "自动润滑泵堵塞无报警 / lubrication pump blocked without an alarm",
            "无振动监测，故障前无预警 / no vibration monitoring, no warning before the failure",
            "润滑泵加装压力开关报警 / pressure switch alarm on the lubrication pump",
            "主轴振动每周检测并看趋势 / weekly spindle vibration check with a trend",
            "主轴润滑要有监控，不能默认正常 / spindle lubrication is monitored, not assumed",
        ),
        "机器人报警 / robot alarm": Story(
            "Robot alarm", "machine",
            "夹爪传感器电缆磨断 / gripper sensor cable worn through",
            "电缆在拖链中走线不当，反复摩擦 / cable badly routed in the drag chain",
            "预防性维护不检查电缆 / preventive maintenance did not cover cables",
            "重新走线并加护套 / cable re-routed with a sleeve",
            "电缆检查加入月度TPM / cables added to the monthly TPM",
            "机器人运动电缆要纳入TPM检查 / moving robot cables belong in the TPM plan",
        ),
    },
    "utilities": {
        "压缩空气压力低 / air pressure low": Story(
            "Compressed air pressure low", "environment",
            "干燥机滤芯堵塞，管网压降大 / dryer filter clogged, pressure drop in the network",
            "滤芯按年更换，实际寿命只有半年 / filter changed yearly but lasts six months",
            "车间末端没有低压报警 / no low-pressure alarm at the end of the network",
            "滤芯改为按压差更换 / filter changed on differential pressure",
            "车间末端加装低压报警 / low-pressure alarm at the end of the network",
            "滤芯按压差更换，不按日历 / filters are changed on pressure drop, not by calendar",
        ),
        "车间停电 / power cut": Story(
            "Power cut", "environment",
            "配电柜接触器过热跳闸 / switchboard contactor overheated and tripped",
            "柜内散热风扇损坏 / cabinet cooling fan broken",
            "配电柜无温度监测 / no temperature monitoring in the cabinet",
            "更换风扇并加装温度传感器 / fan replaced, temperature sensor added",
            "每月红外测温巡检配电柜 / monthly infrared check of the switchboards",
            "配电柜散热要纳入点检 / switchboard cooling is on the checklist",
        ),
    },
    "material": {
        "缺料停线 / line stopped, no material": Story(
            "Material shortage", "method",
            "看板卡丢失，未触发补料 / kanban card lost, no replenishment triggered",
            "看板卡没有数量核对 / nobody counts the kanban cards",
            "线边库存无最低量信号 / no minimum-stock signal at the line",
            "电子看板替代纸质卡 / electronic kanban replaces the paper cards",
            "线边设最低库存红线 / red minimum-stock mark at the line",
            "补料信号不能依赖单张纸卡 / replenishment must not hang on one paper card",
        ),
        "来料尺寸不良 / supplier part out of spec": Story(
            "Supplier part defective", "material",
            "供应商更换模具未通知 / supplier changed the mould without telling us",
            "供应商变更流程未执行 / the supplier's change process was skipped",
            "来料检验只查外观 / incoming inspection checked only the appearance",
            "供应商变更须经PPAP批准 / supplier changes need PPAP approval",
            "来料检验增加关键尺寸抽检 / key dimensions added to incoming inspection",
            "供应商任何变更都要事先批准 / every supplier change is approved before shipment",
        ),
    },
    "safety": {
        "防护罩未装 / guard not fitted": Story(
            "Guard removed", "man",
            "维修后防护罩未装回 / guard not refitted after maintenance",
            "维修交接没有检查表 / no checklist for handing the machine back",
            "防护罩没有安全开关 / the guard has no safety switch",
            "维修交接检查表，班组长签字 / hand-back checklist signed by the team leader",
            "防护罩加装安全联锁 / safety interlock on the guard",
            "维修后交回设备要逐项确认防护 / guards are checked item by item before a restart",
        ),
        "地面油污 / oil on floor": Story(
            "Slippery floor", "machine",
            "液压管接头渗漏 / hydraulic fitting leaking",
            "接头密封老化未更换 / fitting seal aged and never replaced",
            "巡检不看设备底部 / patrols did not look under the machine",
            "更换接头密封并加接油盘 / seal replaced, drip tray fitted",
            "5S巡检加入设备底部检查 / the 5S patrol checks under the machines",
            "液压密封按计划更换 / hydraulic seals are replaced on schedule",
        ),
    },
    "people": {
        "班组缺员 / team short-staffed": Story(
            "Operator absent", "man",
            "多人同时请假，没有顶岗计划 / several people on leave at once, no cover plan",
            "请假审批不看班组人数 / leave approved without looking at the team size",
            "班前会未确认人员 / the shift meeting did not check staffing",
            "建立多能工矩阵和顶岗计划 / skills matrix and cover plan",
            "班前会确认人员到岗 / staffing checked at the shift meeting",
            "每个岗位至少有两名合格员工 / every post has at least two qualified people",
        ),
        "顶岗作业 / stand-in at post": Story(
            "Untrained stand-in", "man",
            "顶岗员工未经该岗位培训 / stand-in not trained for the post",
            "培训矩阵没有更新 / the skills matrix was out of date",
            "上岗前未核对资质 / qualification not checked before starting",
            "更新培训矩阵，顶岗前先培训认证 / matrix updated, stand-ins certified first",
            "工位登录时电子核对资质 / qualification checked when logging in at the station",
            "顶岗前先核对培训资质 / check the qualification before anyone stands in",
        ),
    },
}  # fmt: skip


class Stage(StrEnum):
    """How far a problem's solving got in the demo."""

    OWNED = "owned"  # an owner and a due date, nothing more yet
    NO_OWNER = "no_owner"  # nobody took it: the "no owner" flag and alarm
    SOLVED = "solved"  # 8D accepted section by section, closed, a lesson
    SOLVED_AFTER_RETURN = "solved_after_return"  # the same, D4 returned once on the way
    STARTED = "started"  # 8D started, nothing answered: D0 overdue, red
    IN_REVIEW = "in_review"  # D0–D3 accepted, D4 waiting for the reviewer
    REWORK = "rework"  # D0–D2 accepted, D3 a late draft, D4 returned once


# When each answer is submitted (hours after the occurrence), within the default deadlines;
# D6–D8 come the given hours before the closure.
ANSWER_HOURS = {"D0": 3, "D1": 5, "D2": 8, "D3": 14, "D4": 40, "D5": 52}
HOURS_BEFORE_CLOSURE = {"D6": 20, "D7": 10, "D8": 4}
RETURN_REASON = "原因未经验证，5个为什么没有问到底 / the cause is not verified and the 5 whys stop too early"
CUSTOMER = "华东汽车 / East China Motors"
PARTS = {"assembly": ("SG-4711", "转向器总成 / steering gear assembly"), "machining": ("SH-2208", "转向器壳体 / steering housing")}  # fmt: skip
# The 8D team's specialist per category (username, department).
SPECIALISTS = {
    "quality": ("chief.inspection", "检验 / Inspection"),
    "equipment": ("engineer.equipment", "设备 / Equipment"),
    "utilities": ("engineer.utilities", "动力 / Utilities"),
    "material": ("manager.production", "生产计划 / Production planning"),
    "safety": ("chief.maintenance", "维修 / Maintenance"),
    "people": ("manager.production", "生产 / Production"),
}
REQUIREMENTS = {
    "quality": "不符合图纸和控制计划 / does not meet the drawing and the control plan",
    "equipment": "设备停机，产量和交付受影响 / machine down: output and delivery at risk",
    "utilities": "动力中断，整线停产 / supply cut: the line stopped",
    "material": "缺料或不良料导致停线 / missing or bad material stopped the line",
    "safety": "违反安全规定，可能伤人 / a safety rule broken: someone could get hurt",
    "people": "岗位无合格人员，质量有风险 / a post without a qualified person puts quality at risk",
}
RULED_OUT = {
    "material": "来料批次差异（已排除）/ incoming lot variation (ruled out)",
    "man": "员工操作失误（已排除）/ operator error (ruled out)",
}


def story_of(problem: Problem) -> Story:
    return STORIES[problem.category][problem.title]


def answers(problem: Problem, containment: str, cast: dict, closing: dt.datetime) -> dict[str, dict]:
    """Complete answers D0–D8, exactly as issues.eightd.sections stores a submitted answer (people
    as user ids, dates as ISO strings). `cast` names the team (author, reviewer, leader,
    director, specialist, inspector: users); `closing` dates D6–D8."""
    story, line = story_of(problem), problem.line
    zone, workshop = problem.plant.zone, line.workshop

    def day(when: dt.datetime) -> str:
        return timezone.localtime(when, zone).date().isoformat()

    occurred, finished = day(problem.occurred_at), day(closing)
    leader, director, inspector = cast["leader"].pk, cast["director"].pk, cast["inspector"].pk
    author, specialist = cast["author"].pk, cast["specialist"].pk
    defective = problem.facts.get("defect_count", 0) if problem.category == "quality" else 0
    suspect = max(defective * 8, 40)
    where, shift = f"{line.name_zh} / {line.name_en}", problem.shift
    when = f"{occurred} {shift.name_zh} / {shift.name_en}" if shift else occurred
    part_number, part_name = PARTS[workshop.code]
    containments = [
        {
            "action": containment,
            "location": "line",
            "quantity_checked": suspect,
            "quantity_bad": defective,
            "owner": leader,
            "done_on": occurred,
            "effective": "yes",
        }
    ]
    if problem.category == "quality":
        containments.append(
            {
                "action": "仓库和在途库存挑选 / warehouse and in-transit stock sorted",
                "location": "warehouse",
                "quantity_checked": 600,
                "quantity_bad": 0,
                "owner": inspector,
                "done_on": day(problem.occurred_at + 12 * HOUR),
                "effective": "yes",
            }
        )
    chosen = [
        {
            "action": story.action,
            "addresses": "occurrence",
            "owner": specialist,
            "due_on": day(problem.occurred_at + dt.timedelta(days=10)),
        },
        {
            "action": story.guard,
            "addresses": "escape",
            "owner": inspector,
            "due_on": day(problem.occurred_at + dt.timedelta(days=7)),
        },
    ]
    ruled_out = next(family for family in RULED_OUT if family != story.family)
    documents = {}
    for item, prefix in (("pfmea", "PFMEA"), ("control_plan", "CP"), ("work_instruction", "WI")):
        reference = f"{prefix}-{line.code.upper()} rev C"
        documents |= {f"{item}_status": "updated", f"{item}_reference": reference, f"{item}_reason": ""}
    return {
        "D0": {
            "symptom": f"{problem.title} — {where}",
            "emergency_response": containment,
            "safety_risk": "yes" if problem.category == "safety" else "no",
            "customer_informed": "yes" if problem.facts.get("customer_complaint") else "na",
            "actions": [
                {"action": "停线并通知质量部 / line stopped, quality called", "owner": leader, "done_on": occurred}
            ],
        },
        "D1": {
            "leader": author,
            "champion": director,
            "members": [
                {"person": author, "department": "质量部 / Quality", "role_in_team": "组长 / leader"},
                {"person": leader, "department": "生产 / Production", "role_in_team": "班组长 / team leader"},
                {
                    "person": specialist,
                    "department": SPECIALISTS[problem.category][1],
                    "role_in_team": "技术支持 / expert",
                },
            ],
        },
        "D2": {
            "what": f"{problem.title} — {part_number}",
            "where": where,
            "when": when,
            "who": problem.reported_by.profile.display_name,
            "why": REQUIREMENTS[problem.category],
            "how": "班组长巡线发现，QRQC上报 / found on the team leader's round, logged in QRQC",
            "how_many": f"不良 {defective} 件，可疑 {suspect} 件 / {defective} defective of {suspect} suspect",
            "quantity_suspect": suspect,
            "quantity_defective": defective,
            "is_is_not": [
                {"dimension": "where", "is_case": where, "is_not_case": "同车间其他产线 / the workshop's other lines"},
                {"dimension": "when", "is_case": when, "is_not_case": "其他班次 / the other shifts"},
            ],
        },
        "D3": {"summary": "可疑品已全部隔离并挑选 / all suspect stock isolated and sorted", "actions": containments},
        "D4": {
            "occurrence_cause": story.cause,
            "occurrence_verified": "yes",
            "occurrence_evidence": "现场复现，纠正后消失 / reproduced on the line, gone after the fix",
            "escape_cause": story.escape,
            "escape_verified": "yes",
            "escape_evidence": "与检验记录和控制计划核对 / checked against the inspection records and control plan",
            "occurrence_whys": [{"why": story.cause}, {"why": story.why}],
            "escape_whys": [{"why": story.escape}, {"why": "控制计划未识别该风险 / the control plan missed the risk"}],
            "fishbone": [
                {"family": story.family, "side": "occurrence", "cause": story.cause, "confirmed": True},
                {"family": "method", "side": "escape", "cause": story.escape, "confirmed": True},
                {"family": ruled_out, "side": "occurrence", "cause": RULED_OUT[ruled_out], "confirmed": False},
            ],
        },
        "D5": {
            "short_term": "永久措施生效前加严检验 / reinforced inspection until the permanent actions work",
            "risk": "",
            "actions": chosen,
        },
        "D6": {
            "validation_summary": "措施实施后跟踪生产，未再发生 / production followed after the actions: no recurrence",
            "actions": [
                {
                    "action": row["action"],
                    "owner": row["owner"],
                    "due_on": row["due_on"],
                    "status": "done",
                    "done_on": finished,
                    "evidence": f"变更记录 / change record {problem.number}-{index}",
                    "validation": "yes",
                }
                for index, row in enumerate(chosen, start=1)
            ],
        },
        "D7": {
            "lesson": story.lesson,
            "product": part_name,
            **documents,
            "dfmea_status": "na",
            "dfmea_reference": "",
            "dfmea_reason": "非设计问题 / not a design problem",
            "deployment": [
                {
                    "target": f"{workshop.name_zh}其他产线 / the {workshop.name_en}'s other lines",
                    "action": "同样措施横向展开 / the same actions rolled out",
                    "owner": director,
                    "status": "done",
                }
            ],
        },
        "D8": {
            "summary": "措施验证有效，同意关闭 / actions verified effective, closure agreed",
            "recognition": "感谢班组快速遏制和跟踪 / thanks to the line team for the fast containment",
            "signoffs": [
                {"person": cast["reviewer"].pk, "function": "质量经理 / quality manager", "signed_on": finished},
                {"person": director, "function": "车间主任 / workshop director", "signed_on": finished},
            ],
        },
    }


def thin_d4(content: dict) -> dict:
    """The first D4 of a returned answer: a cause guessed, not verified, one why deep."""
    return {
        **content,
        "occurrence_verified": "no",
        "occurrence_evidence": "",
        "occurrence_whys": content["occurrence_whys"][:1],
    }


def draft_d3(content: dict) -> dict:
    """Containment still running: no date and no verdict on the sort yet."""
    rows = [{**row, "done_on": None, "effective": "pending"} for row in content["actions"]]
    return {**content, "summary": "", "actions": rows}


def timeline(stage: Stage, closing: float, now: float) -> list[tuple[str, str, float]]:
    """(section, verb, hours after the occurrence) of an 8D's answers and reviews. A verb is
    submit, accept, return, thin (a first D4 that will be returned) or draft (D3 saved)."""

    def answered(code: str, hours: float) -> list[tuple[str, str, float]]:
        return [(code, "submit", hours), (code, "accept", hours + 1)]

    early = [step for code in ("D0", "D1", "D2") for step in answered(code, ANSWER_HOURS[code])]
    if stage == Stage.REWORK:
        return [*early, ("D3", "draft", 12), ("D4", "thin", now - 20), ("D4", "return", now - 14)]
    early += answered("D3", ANSWER_HOURS["D3"])
    if stage == Stage.IN_REVIEW:
        return [*early, ("D4", "submit", now - 8)]
    d4 = ANSWER_HOURS["D4"]
    returned = [("D4", "thin", d4 - 10), ("D4", "return", d4 - 7)] if stage == Stage.SOLVED_AFTER_RETURN else []
    later = [step for code in ("D6", "D7", "D8") for step in answered(code, closing - HOURS_BEFORE_CLOSURE[code])]
    return [*early, *returned, *answered("D4", d4), *answered("D5", ANSWER_HOURS["D5"]), *later]
