"""The 8D printout for customers (issue #4): the download and its rights, Chinese that really
renders (text extraction, an embedded font, dark pixels where a Chinese word is drawn), user
text printed literally, long answers over several pages, photos, signatures, the footer."""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image

from issues.eightd import solving
from issues.eightd.print_data import eightd_print_data
from issues.eightd.printout import render_eightd, text_in
from issues.models import EightDReport, Role, SectionAttachment, SectionCode
from issues.problems.intake import Report, report_problem
from issues.problems.photos import store_photo
from tests.conftest import make_person

pytestmark = pytest.mark.django_db

OCCURRED = dt.datetime(2025, 3, 4, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai
CHINESE = "毛刺超差"
CUSTOMER = "上汽大众"
MARKUP = "<b>x</b> & <script>"
DAY, LATER = "2025-03-04", "2025-03-10"


def jpeg(width: int = 1600, height: int = 1200, colour=(200, 60, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def answers(owner: int, signer: int) -> dict[str, dict]:
    """A complete answer per section, as issues.eightd.sections stores it (Chinese typed in places)."""
    return {
        "D0": {
            "symptom": f"{CHINESE}：壳体法兰边缘",
            "emergency_response": "Line stopped\nparts quarantined",
            "safety_risk": "no",
            "customer_informed": "yes",
            "actions": [{"action": "隔离本班产品", "owner": owner, "done_on": DAY}],
        },
        "D1": {"leader": owner, "champion": signer, "members": [{"person": owner, "department": "质量部"}]},
        "D2": {
            "what": "Housing 4711",
            "where": "Assembly 1",
            "when": "Day shift",
            "who": "Final inspection",
            "why": "Burr-free edge required",
            "how": "Visual check",
            "how_many": "25 of 200",
            "quantity_suspect": 200,
            "quantity_defective": 25,
            "is_is_not": [{"dimension": "where", "is_case": "Line A1", "is_not_case": "Line A2"}],
        },
        "D3": {
            "summary": "All suspect stock sorted",
            "actions": [
                {
                    "action": "Sort the warehouse stock",
                    "location": "warehouse",
                    "quantity_checked": 200,
                    "quantity_bad": 3,
                    "owner": owner,
                    "done_on": DAY,
                    "effective": "yes",
                }
            ],
        },
        "D4": {
            "occurrence_cause": "刀具磨损 (worn deburring tool)",
            "occurrence_verified": "yes",
            "occurrence_evidence": "Tool wear 0.3 mm",
            "escape_cause": "No edge check at final inspection",
            "escape_verified": "no",
            "occurrence_whys": [{"why": "The tool was not changed"}],
            "escape_whys": [{"why": "The check was never planned"}],
        },
        "D5": {
            "short_term": "Change the tool every shift",
            "actions": [{"action": "Tool life counter", "addresses": "occurrence", "owner": owner, "due_on": LATER}],
        },
        "D6": {
            "validation_summary": "Three weeks without a burr",
            "actions": [
                {
                    "action": "Tool life counter",
                    "owner": owner,
                    "due_on": LATER,
                    "status": "done",
                    "done_on": LATER,
                    "evidence": "Counter log",
                    "validation": "yes",
                }
            ],
        },
        "D7": {
            "lesson": "Deburring tools need a life counter",
            "pfmea_status": "updated",
            "pfmea_reference": "PFMEA-12 rev C",
            "dfmea_status": "na",
            "dfmea_reason": "Design not concerned",
            "control_plan_status": "updated",
            "control_plan_reference": "CP-7 rev D",
            "work_instruction_status": "updated",
            "work_instruction_reference": "WI-33 rev B",
        },
        "D8": {
            "summary": "Closed with the customer",
            "signoffs": [{"person": signer, "function": "Quality manager", "signed_on": LATER}],
        },
    }


def filled_report(problem, author, reviewer) -> EightDReport:
    """The problem's 8D with every section submitted by `author` and accepted by `reviewer`."""
    report = solving.start_report(problem, user=author, now=OCCURRED)
    EightDReport.objects.filter(pk=report.pk).update(customer=CUSTOMER, part_number="4711-A", part_name="壳体")
    content = answers(author.pk, reviewer.pk)
    for section in report.sections.order_by("code"):
        solving.submit(section, user=author, content=content[section.code], now=OCCURRED)
        solving.accept(section, user=reviewer, now=OCCURRED + dt.timedelta(days=1))
    report.refresh_from_db()
    return report


def answered(report: EightDReport, code: str, **fields) -> EightDReport:
    """The report with some fields of one accepted answer changed in place."""
    section = report.sections.get(code=code)
    section.content = {**section.content, **fields}
    section.save(update_fields=["content"])
    return report


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def reviewer(world):
    return make_person("reviewer", Role.QUALITY_MANAGER, plant=world.plant)


@pytest.fixture
def problem(world, quality_engineer):
    report = Report(
        line=world.line_a1,
        category="quality",
        title=f"壳体{CHINESE}",
        occurred_at=OCCURRED,
        facts={"defect_class": "A", "defect_count": 25},
    )
    return report_problem(report, reporter=quality_engineer)[0]


@pytest.fixture
def report(problem, quality_engineer, reviewer):
    return filled_report(problem, quality_engineer, reviewer)


def download(client, user, problem, language: str | None = None):
    client.force_login(user)
    query = {"language": language} if language else {}
    return client.get(f"/problems/{problem.pk}/8d.pdf", query)


def pdf_bytes(response) -> bytes:
    return b"".join(response.streaming_content)


def run(*command: str) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def saved(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "8d.pdf"
    path.write_bytes(pdf)
    return str(path)


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    return run("pdftotext", "-enc", "UTF-8", saved(pdf, tmp_path), "-")


def pages(pdf: bytes, tmp_path: Path) -> int:
    return int(re.search(r"^Pages:\s+(\d+)", run("pdfinfo", saved(pdf, tmp_path)), re.M).group(1))


def printed(report, language: str) -> bytes:
    return render_eightd(eightd_print_data(report, language), language)


# --------------------------------------------------------------------------- the download


def test_the_8d_downloads_as_a_pdf_named_after_the_problem_and_the_language(client, report, problem, reviewer):
    response = download(client, reviewer, problem, "zh-hans")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="8D-{problem.number}-zh-hans.pdf"'
    assert pdf_bytes(response).startswith(b"%PDF")


def test_without_a_language_the_printout_is_in_the_readers_language(client, report, problem, reviewer):
    client.cookies["django_language"] = "zh-hans"

    response = download(client, reviewer, problem)

    assert response.status_code == 200
    assert f"8D-{problem.number}-zh-hans.pdf" in response["Content-Disposition"]


def test_an_unknown_language_is_refused_with_a_message(client, report, problem, reviewer):
    response = download(client, reviewer, problem, "fr")

    assert response.status_code == 400
    assert "zh-hans" in response.content.decode()


def test_without_a_login_there_is_no_printout(client, report, problem):
    response = client.get(f"/problems/{problem.pk}/8d.pdf")

    assert response.status_code == 302 and "/login" in response["Location"]


def test_someone_of_another_plant_gets_not_found(client, report, problem, outsider):
    assert download(client, outsider, problem, "en").status_code == 404


def test_a_problem_without_an_8d_has_no_printout(client, problem, reviewer):
    assert download(client, reviewer, problem, "en").status_code == 404


# --------------------------------------------------------------------------- what is printed


def test_the_chinese_printout_has_the_answers_as_typed_and_chinese_labels(client, report, problem, reviewer, tmp_path):
    text = pdf_text(pdf_bytes(download(client, reviewer, problem, "zh-hans")), tmp_path)

    assert CHINESE in text and CUSTOMER in text and "隔离本班产品" in text
    assert "发生时间" in text  # "occurred at", translated
    assert "是" in text  # D0 "customer informed: yes" shown as its label
    for code in SectionCode:
        assert text_in(code.label, "zh-hans") in text


def test_the_english_printout_has_english_labels_choice_labels_and_names(client, report, problem, reviewer, tmp_path):
    text = pdf_text(pdf_bytes(download(client, reviewer, problem, "en")), tmp_path)

    assert CHINESE in text  # what people typed stays as typed
    assert "Occurred at" in text and "2025-03-04 09:00" in text
    assert "D3 Containment" in text and "D8 Closure and recognition" in text
    assert "Warehouse" in text  # D3's stock location, not "warehouse"
    assert "Evidence" in text and "Counter log" in text and "Effective" in text  # D6 action table
    assert "PFMEA-12 rev C" in text and "Design not concerned" in text  # D7's document checklist
    assert "Qe" in text  # the owner's display name, not a user id
    assert "Accepted 2025-03-05" in text


def test_the_bilingual_printout_labels_in_english_and_chinese(client, report, problem, reviewer, tmp_path):
    text = pdf_text(pdf_bytes(download(client, reviewer, problem, "both")), tmp_path)

    assert "Status / 状态" in text and "Verifying / 效果验证中" in text
    assert "Yes / 是" in text
    assert "Test Plant / 测试工厂" in text
    assert CHINESE in text


def test_user_text_is_printed_literally_not_read_as_markup(report, tmp_path):
    answered(report, "D0", symptom=MARKUP, emergency_response="first line\r\nsecond line")

    text = pdf_text(printed(report, "en"), tmp_path)

    assert MARKUP in text
    assert "first line\nsecond line" in text


def test_a_long_answer_runs_on_over_the_next_page(report, tmp_path):
    long_answer = "FIRST-WORDS " + ("The deburring tool wore out. 刀具磨损导致毛刺。" * 200)[:4978] + " LAST-WORDS"

    pdf = printed(answered(report, "D4", occurrence_cause=long_answer), "en")

    assert len(long_answer) == 5001
    by_page = pdf_text(pdf, tmp_path).split("\f")
    first = next(number for number, text in enumerate(by_page) if "FIRST-WORDS" in text)
    last = next(number for number, text in enumerate(by_page) if "LAST-WORDS" in text)
    assert last > first  # one answer, one table row, split over pages


def test_every_page_says_which_page_of_how_many(report, tmp_path):
    pdf = printed(answered(report, "D4", occurrence_cause="x " * 3000), "en")
    total = pages(pdf, tmp_path)

    footers = re.findall(r"Page (\d+) of (\d+)", pdf_text(pdf, tmp_path))

    assert total > 1
    assert footers == [(str(page), str(total)) for page in range(1, total + 1)]
    assert f"8D {report.problem.number}" in pdf_text(pdf, tmp_path)


def test_the_signatures_close_the_report_with_lines_for_the_customer(report, tmp_path):
    text = pdf_text(printed(report, "en"), tmp_path)

    tail = text[text.rindex("Signatures") :]
    assert "Reviewer" in tail and "Quality manager" in tail and "2025-03-10" in tail
    assert "Customer approval" in tail


def test_a_report_in_progress_shows_what_is_not_answered_and_what_does_not_apply(problem, quality_engineer, tmp_path):
    report = solving.start_report(problem, user=quality_engineer, now=OCCURRED)
    solving.mark_not_applicable(report.sections.get(code="D3"), user=quality_engineer, reason="无库存 nothing shipped")

    text = pdf_text(printed(report, "en"), tmp_path)

    d3 = text[text.index("D3 Containment") : text.index("D4 Root cause")]
    assert "Not applicable" in d3 and "无库存 nothing shipped" in d3
    d5 = text[text.index("D5 Permanent actions chosen") : text.index("D6 Actions")]
    assert "Not started" in d5 and "No answer yet." in d5 and "Due 2025-03-07" in d5


def test_photos_of_the_problem_and_of_sections_are_printed_small(report, problem, quality_engineer, tmp_path):
    store_photo(jpeg(), name="flange.jpg", user=quality_engineer, problem=problem)
    section = report.sections.get(code="D3")
    attachment = SectionAttachment(
        section=section,
        kind=SectionAttachment.Kind.PHOTO,
        token="a" * 32,
        original_name="sorting.jpg",
        content_type="image/jpeg",
        caption="分拣现场",
        uploaded_by=quality_engineer,
        uploaded_at=timezone.now(),
    )
    attachment.file.save("a.jpg", ContentFile(jpeg(colour=(20, 90, 160)), name="a.jpg"), save=False)
    attachment.save()
    SectionAttachment.objects.create(
        section=section,
        kind=SectionAttachment.Kind.DOCUMENT,
        token="b" * 32,
        file="eightd/gone.pdf",
        original_name="sorting-record.pdf",
        content_type="application/pdf",
        uploaded_by=quality_engineer,
    )

    pdf = printed(report, "en")

    listing = run("pdfimages", "-list", saved(pdf, tmp_path)).splitlines()[2:]
    widths = [int(line.split()[3]) for line in listing]
    assert len(widths) == 2
    assert all(width <= 520 for width in widths)  # re-encoded for print, not the 1600 px originals
    text = pdf_text(pdf, tmp_path)
    assert "flange.jpg" in text and "分拣现场" in text and "sorting-record.pdf" in text


def test_a_photo_whose_file_is_gone_is_printed_as_missing(report, problem, quality_engineer, tmp_path):
    photo = store_photo(jpeg(), name="flange.jpg", user=quality_engineer, problem=problem)
    Path(photo.image.path).unlink()

    text = pdf_text(printed(report, "en"), tmp_path)

    assert "Photo missing" in text


def test_the_print_data_takes_the_same_few_queries_however_big_the_report(
    report, problem, quality_engineer, django_assert_max_num_queries
):
    for index in range(3):
        store_photo(jpeg(64, 48), name=f"p{index}.jpg", user=quality_engineer, problem=problem)
    report = EightDReport.objects.select_related("problem__plant", "problem__line__workshop").get(pk=report.pk)

    # Sections, their attachments, the problem's photos, and everyone named in the answers.
    with django_assert_max_num_queries(4):
        data = eightd_print_data(report, "en")

    assert len(data.sections) == 9 and len(data.sections[2].photos) == 3


# --------------------------------------------------------------------------- Chinese renders


def test_chinese_is_drawn_with_an_embedded_cjk_font_not_as_boxes(report, tmp_path):
    path = saved(printed(report, "zh-hans"), tmp_path)

    fonts = [line.split() for line in run("pdffonts", path).splitlines()[2:]]
    assert any("WenQuanYi" in font[0] and "TrueType" in font and font[-5] == "yes" for font in fonts)

    run("pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", "-singlefile", path, str(tmp_path / "page"))
    page = Image.open(tmp_path / "page.png").convert("L")
    assert sum(page.histogram()[:128]) > 0.01 * page.width * page.height  # not a blank page

    boxes = run("pdftotext", "-bbox", "-f", "1", "-l", "1", path, "-")
    found = re.search(rf'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">{CUSTOMER}<', boxes)
    scale = 50 / 72  # points to pixels at 50 dpi
    word = page.crop(tuple(round(float(value) * scale) for value in found.groups()))
    # At 50 dpi a 9 pt glyph is a few grey pixels: a third of the word's box is inked, a blank box has none.
    assert sum(word.histogram()[:200]) > 0.2 * word.width * word.height


def test_a_missing_font_is_a_clear_configuration_error(report, settings, tmp_path):
    settings.QRQC_PDF_FONT = str(tmp_path / "no-such-font.ttc")

    with pytest.raises(ImproperlyConfigured, match="QRQC_PDF_FONT"):
        printed(report, "en")


def test_without_its_font_the_download_is_a_503_page_in_the_readers_language_and_logged(
    client, report, problem, reviewer, settings, tmp_path, caplog
):
    settings.QRQC_PDF_FONT = str(tmp_path / "no-such-font.ttc")
    client.cookies["django_language"] = "zh-hans"

    with caplog.at_level("ERROR", logger="issues.eightd.pdf_views"):
        response = download(client, reviewer, problem, "both")

    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert "无法生成打印件" in response.content.decode()
    assert "no-such-font.ttc" in caplog.text and f"/problems/{problem.pk}/8d.pdf" in caplog.text
