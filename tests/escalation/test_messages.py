"""What a notification says (escalation/messages.py): the recipient's language, the facts a
person needs (number, grade, line, title, minutes open, tier, link), and an SMS that fits."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import translation

from escalation.messages import compose, fit_sms, language_for, markdown_text
from escalation.models import AlarmKind, WebhookEndpoint

CJK = re.compile(r"[\u4e00-\u9fff]")
LONG_CHINESE_TITLE = "总装一线发动机缸体外壳表面大面积毛刺与划伤导致整批零件无法装配需要立即隔离并通知供应商到现场处理"


def chinese_apart_from(text: str, *names: str) -> bool:
    """True when the text has Chinese of its own, not only the Chinese names put into it."""
    for name in names:
        text = text.replace(name, "")
    return bool(CJK.search(text))


@pytest.fixture
def problem(log_problem, team_leader):
    return log_problem(team_leader, title="Burr on housing")


@pytest.fixture
def level3(problem, fire_event, team_leader, occurred):
    return fire_event(problem, [team_leader], ["sms"], now=occurred + dt.timedelta(minutes=30), level=3)


def test_a_person_who_chose_chinese_gets_the_message_in_chinese(person, level3, occurred, world):
    reader = person("zhang", language="zh-hans")
    message = compose(level3, language_for(reader, None, world.plant), occurred + dt.timedelta(minutes=35))

    assert message.language == "zh-hans"
    assert "总装一线" in message.text  # the line by its Chinese name
    assert chinese_apart_from(message.subject, "总装一线")
    assert chinese_apart_from(message.text, "总装一线", "总装车间")


def test_a_person_who_chose_english_gets_the_message_in_english(person, level3, occurred, world):
    reader = person("smith", language="en")
    message = compose(level3, language_for(reader, None, world.plant), occurred + dt.timedelta(minutes=35))

    assert message.language == "en"
    assert "Assembly 1" in message.text
    assert not CJK.search(message.subject + message.text)
    assert "level 3 (workshop)" in message.subject


def test_a_person_without_a_language_gets_the_plants_language(person, world):
    undecided = person("wang", language="")

    assert language_for(undecided, None, world.plant) == "zh-hans"
    world.plant.language = "en"
    assert language_for(undecided, None, world.plant) == "en"


def test_a_person_without_a_profile_gets_the_plants_language(world, django_user_model):
    bare = django_user_model.objects.create_user("bare", password="pw-for-tests-only")

    assert language_for(bare, None, world.plant) == "zh-hans"


def test_a_group_webhook_speaks_its_own_language_whoever_reads_it(world):
    endpoint = WebhookEndpoint(plant=world.plant, name="Line chat", kind="wecom", url="http://x", language="en")

    assert language_for(None, endpoint, world.plant) == "en"


def test_the_message_carries_number_grade_line_title_minutes_tier_and_link(problem, level3, occurred, settings):
    message = compose(level3, "en", occurred + dt.timedelta(minutes=35))
    link = f"{settings.SITE_URL.rstrip('/')}/p/{problem.pk}/"

    assert problem.grade == "A"
    assert message.link == link
    assert message.subject == f"[QRQC] A {problem.number} escalated to level 3 (workshop)"
    for fact in (problem.number, "A problem", "Assembly 1", "Burr on housing", "35 min", "level 3 (workshop)"):
        assert fact in message.text
    assert message.text.endswith(link)


def test_minutes_open_count_from_occurrence_not_from_the_tier(level3, occurred):
    assert "Open 125 min" in compose(level3, "en", occurred + dt.timedelta(minutes=125, seconds=59)).text


def test_an_alarm_is_named_by_its_kind(problem, fire_event, team_leader, occurred):
    event = fire_event(
        problem, [team_leader], ["inapp"], now=occurred + dt.timedelta(days=2), level=0, kind=AlarmKind.NO_OWNER
    )
    message = compose(event, "en", occurred + dt.timedelta(days=2))

    assert message.subject == f"[QRQC] No owner: {problem.number}"
    assert "(open 2880 min)" in message.text


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_an_sms_fits_one_message_even_with_a_long_chinese_title(
    log_problem, fire_event, team_leader, occurred, settings, language
):
    problem = log_problem(team_leader, title=LONG_CHINESE_TITLE)
    event = fire_event(problem, [team_leader], ["sms"], now=occurred + dt.timedelta(minutes=60), level=2)
    sms = compose(event, language, occurred + dt.timedelta(minutes=61)).sms

    assert settings.QRQC_SMS_MAX_CHARS == 70
    assert len(sms) <= 70
    line = "总装一线" if language == "zh-hans" else "Assembly 1"
    for fact in (problem.number, "A", line, "61", "L2"):
        assert fact in sms, f"{fact!r} lost from {sms!r}"
    assert LONG_CHINESE_TITLE not in sms
    assert LONG_CHINESE_TITLE[:2] in sms  # the title was shortened, not dropped
    assert "…" in sms


def test_a_short_title_is_sent_whole_in_the_sms(log_problem, fire_event, team_leader, occurred):
    problem = log_problem(team_leader, title="毛刺")
    event = fire_event(problem, [team_leader], ["sms"], now=occurred + dt.timedelta(minutes=5))
    sms = compose(event, "zh-hans", occurred + dt.timedelta(minutes=6)).sms

    assert len(sms) <= 70
    assert "毛刺" in sms
    assert "…" not in sms
    assert sms.endswith(f"/p/{problem.pk}/")


def test_fit_sms_shortens_the_title_first_then_drops_the_link_but_keeps_the_facts(settings):
    head = "QRQC A SZ1-20250304-001 总装一线 61min L2: "
    link = "http://q.cn/p/12/"

    with_link = fit_sms(head, "毛刺" * 40, link)
    assert len(with_link) == 70
    assert with_link.startswith(head + "毛")
    assert with_link.endswith("… " + link)

    settings.QRQC_SMS_MAX_CHARS = 50  # no room left for the link
    without_link = fit_sms(head, "毛刺" * 40, link)
    assert len(without_link) == 50
    assert without_link.startswith(head)
    assert link not in without_link
    assert without_link.endswith("…")


def test_the_link_is_in_the_e_mail_text(problem, level3, occurred):
    for language in ("en", "zh-hans"):
        message = compose(level3, language, occurred + dt.timedelta(minutes=31))
        assert message.link in message.text
        assert message.link.endswith(f"/p/{problem.pk}/")


def test_composing_in_chinese_leaves_the_callers_language_alone(level3, occurred):
    compose(level3, "zh-hans", occurred + dt.timedelta(minutes=31))

    assert translation.get_language() == "en"


# --- what people typed, inside a group robot's markdown ----------------------------------------


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("Burr on housing", "Burr on housing"),
        ("毛刺超差 3 件", "毛刺超差 3 件"),
        ("SZ1-20250301-001 M8-1.25", "SZ1-20250301-001 M8-1.25"),
        ("[Acknowledge here](http://evil.example)", "［Acknowledge here］（http：//evil.example）"),
        ("![x](http://evil.example/p.png)", "！［x］（http：//evil.example/p.png）"),
        ("see https://evil.example", "see https：//evil.example"),
        ("@all", "＠all"),
        ("<@everyone> <font color=info>", "＜＠everyone＞ ＜font color=info＞"),
        ("&lt;@all&gt;", "＆lt;＠all＆gt;"),
        ("`code` **bold** _it_ ~~gone~~", "｀code｀ ＊＊bold＊＊ ＿it＿ ～～gone～～"),
        ("a | b", "a ｜ b"),
        ("first\n# heading", "first ＃ heading"),
        ("first\r\n> quote\n- item", "first ＞ quote - item"),
        ("one\u2028two\x85three\vfour", "one two three four"),
    ],
)
def test_typed_text_shows_as_itself_in_robot_markdown(typed, shown):
    assert markdown_text(typed) == shown


def test_the_robot_words_are_the_message_with_our_link_live(problem, level3, occurred):
    message = compose(level3, "en", occurred + dt.timedelta(minutes=35))

    # Every value is escaped, ours too (one rule): "level 3 (workshop)" keeps its sense.
    ours = str.maketrans("()", "（）")
    assert message.markdown_subject == message.subject.translate(ours)
    words = message.text.removesuffix(message.link).translate(ours)
    assert message.markdown_text == words + f"[{message.link}]({message.link})"
