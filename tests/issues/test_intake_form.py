"""The intake form at /problems/new/: grading on submit, double submits, re-rendering with
what was typed, photos staged across a failed submit, the live grade preview, the problem page."""

from __future__ import annotations

import datetime as dt
import io
import re
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from issues.grading.thresholds import current_table
from issues.models import Problem, ProblemPhoto, Station
from issues.problems.intake import Report, report_problem, shift_at
from issues.problems.photos import resized_jpeg, store_photo
from issues.problems.tasks import purge_abandoned_photos

pytestmark = pytest.mark.django_db

NEW_URL = "/problems/new/"
PREVIEW_URL = "/problems/grade-preview/"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def leader_client(client, team_leader):
    client.force_login(team_leader)
    return client


def plant_local(when: dt.datetime) -> str:
    """The datetime-local value a tablet in the plant (Asia/Shanghai) would send."""
    return timezone.localtime(when, SHANGHAI).strftime("%Y-%m-%dT%H:%M")


def form_data(world, **overrides) -> dict:
    data = {
        "idempotency_key": "f" * 32,
        "category": "quality",
        "line": world.line_a1.pk,
        "shift": "",
        "occurred_at": plant_local(timezone.now() - dt.timedelta(hours=1)),
        "title": "Burr on flange, station 3",
        "description": "Found at final inspection",
        "kind": "QC",
        "cause_family": "",
        "failure_mode": "",
        "defect_class": "A",
        "defect_count": "25",
    }
    data.update(overrides)
    return data


def photo_upload(name="burr.png", size=(3000, 2000), image_format="PNG") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format=image_format)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=f"image/{image_format.lower()}")


# --- the empty form ----------------------------------------------------------------------


def test_the_empty_form_carries_a_fresh_idempotency_key_and_the_leaders_line(world, leader_client):
    first = leader_client.get(NEW_URL)
    second = leader_client.get(NEW_URL)

    assert first.status_code == 200
    keys = [
        re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', r.content.decode()).group(1)
        for r in (first, second)
    ]
    assert keys[0] != keys[1]
    assert f'<option value="{world.line_a1.pk}" selected>' in first.content.decode()


# --- submitting ------------------------------------------------------------------------


def test_a_valid_submit_stores_the_problem_with_number_grade_rules_and_table_version(world, team_leader, leader_client):
    response = leader_client.post(NEW_URL, form_data(world))

    problem = Problem.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/problems/{problem.pk}/"
    assert re.fullmatch(r"TP1-\d{8}-001", problem.number)
    assert problem.grade == "A"
    assert [rule["code"] for rule in problem.fired_rules] == ["quality-a-defects-intermittent-a"]
    assert problem.threshold_table == current_table(world.plant)
    assert problem.facts == {"defect_class": "A", "defect_count": 25}
    assert problem.reported_by == team_leader
    assert problem.idempotency_key == "f" * 32
    assert problem.shift == shift_at(world.plant, problem.occurred_at)  # taken from the time when left empty
    assert problem.shift in (world.day, world.night)


def test_the_time_typed_is_read_in_the_plants_time_zone(world, leader_client):
    local = (timezone.now() - dt.timedelta(hours=3)).astimezone(SHANGHAI).replace(second=0, microsecond=0)

    leader_client.post(NEW_URL, form_data(world, occurred_at=local.strftime("%Y-%m-%dT%H:%M")))

    assert Problem.objects.get().occurred_at == local


def test_a_double_submit_with_the_same_key_makes_one_problem(world, leader_client):
    first = leader_client.post(NEW_URL, form_data(world))
    second = leader_client.post(NEW_URL, form_data(world), follow=True)

    assert Problem.objects.count() == 1
    problem = Problem.objects.get()
    assert first["Location"] == f"/problems/{problem.pk}/"
    assert second.redirect_chain == [(f"/problems/{problem.pk}/", 302)]
    assert f"{problem.number} was already logged; nothing was added." in second.content.decode()


def test_a_new_key_makes_a_second_problem(world, leader_client):
    leader_client.post(NEW_URL, form_data(world))
    leader_client.post(NEW_URL, form_data(world, idempotency_key="e" * 32))

    assert Problem.objects.count() == 2


def test_after_the_submit_the_problem_page_explains_the_grade_in_plain_words(world, leader_client):
    response = leader_client.post(NEW_URL, form_data(world), follow=True)

    html = response.content.decode()
    problem = Problem.objects.get()
    assert f"{problem.number} logged as grade A." in html
    assert (
        '<p class="explanation big" data-testid="grade-explanation">'
        "A: 25 A-class defects intermittently this shift, limit n &gt; 20</p>"
    ) in html
    assert f"Graded with threshold table version {problem.threshold_table.version}." in html
    assert "Defects this shift (intermittent total)" in html


def test_the_problem_page_shows_its_history(world, leader_client):
    leader_client.post(NEW_URL, form_data(world))
    problem = Problem.objects.get()
    problem.status = Problem.Status.CONTAINED
    problem.save()

    html = leader_client.get(f"/problems/{problem.pk}/").content.decode()

    history = html.split("<h2>History</h2>", 1)[1]
    assert "logged" in history and "changed" in history
    assert '<span class="change">status: Open → Contained</span>' in history
    assert history.index("changed") < history.index("logged")  # newest first


def test_the_problem_page_explains_a_c_grade_when_no_limit_was_reached(world, leader_client):
    leader_client.post(NEW_URL, form_data(world, defect_class="", defect_count=""))

    html = leader_client.get(f"/problems/{Problem.objects.get().pk}/").content.decode()

    assert "C: no B or A alarm limit reached; tracked and improved" in html


# --- invalid input ---------------------------------------------------------------------


def test_a_missing_title_re_renders_the_form_with_400_keeping_what_was_typed(world, leader_client):
    response = leader_client.post(
        NEW_URL,
        form_data(world, title="", description="Seen twice today", failure_mode="Loose bolt", defect_count="17"),
    )

    assert response.status_code == 400
    assert Problem.objects.count() == 0
    html = response.content.decode()
    assert response.context["form"].errors["title"] == ["This field is required."]
    assert "Seen twice today</textarea>" in html
    assert 'value="Loose bolt"' in html
    assert 'name="defect_count" id="fact-quality-defect_count" value="17"' in html
    assert 'name="defect_class" value="A" checked' in html
    assert 'name="idempotency_key" value="' + "f" * 32 + '"' in html  # the same key goes round again


def test_a_bad_fact_is_shown_next_to_the_fact_and_kept(world, leader_client):
    response = leader_client.post(NEW_URL, form_data(world, defect_count="-3"))

    assert response.status_code == 400
    html = response.content.decode()
    assert "Check the highlighted facts." in html
    assert 'value="-3"' in html
    fact_block = html.split('id="fact-quality-defect_count"', 1)[1].split("</div>", 1)[0]
    assert "Must be zero or more." in fact_block
    assert Problem.objects.count() == 0


@pytest.mark.parametrize(
    ("shift_by", "message"),
    [
        pytest.param(dt.timedelta(hours=2), "This is in the future.", id="future"),
        pytest.param(-dt.timedelta(days=31), "older than 30 days", id="too old"),
    ],
)
def test_an_implausible_time_is_refused(world, leader_client, shift_by, message):
    response = leader_client.post(NEW_URL, form_data(world, occurred_at=plant_local(timezone.now() + shift_by)))

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors["occurred_at"])


def test_a_line_outside_the_leaders_scope_is_not_a_valid_choice(world, leader_client):
    response = leader_client.post(NEW_URL, form_data(world, line=world.line_a2.pk))

    assert response.status_code == 400
    assert "line" in response.context["form"].errors
    assert Problem.objects.count() == 0


# --- photos ----------------------------------------------------------------------------


def test_an_uploaded_photo_is_stored_as_a_jpeg_at_most_1600_pixels(world, leader_client, media_in_tmp):
    leader_client.post(NEW_URL, {**form_data(world), "photos": [photo_upload(size=(3000, 2000))]})

    photo = Problem.objects.get().photos.get()
    assert (photo.width, photo.height) == (1600, 1067)
    assert photo.original_name == "burr.png"
    stored = media_in_tmp / photo.image.name
    assert stored.is_file()
    with Image.open(stored) as image:
        assert image.format == "JPEG"
        assert image.size == (1600, 1067)


def test_a_portrait_photo_keeps_its_long_edge_at_1600(world, leader_client):
    leader_client.post(NEW_URL, {**form_data(world), "photos": [photo_upload(size=(1200, 4000), image_format="JPEG")]})

    photo = Problem.objects.get().photos.get()
    assert (photo.width, photo.height) == (480, 1600)


def test_a_small_photo_is_not_enlarged(world, leader_client):
    leader_client.post(NEW_URL, {**form_data(world), "photos": [photo_upload(size=(640, 480))]})

    photo = Problem.objects.get().photos.get()
    assert (photo.width, photo.height) == (640, 480)


def test_photos_survive_a_failed_submit_and_attach_on_the_next(world, team_leader, leader_client):
    failed = leader_client.post(
        NEW_URL, {**form_data(world, title=""), "photos": [photo_upload(), photo_upload("b.png")]}
    )

    assert failed.status_code == 400
    staged = list(ProblemPhoto.objects.filter(problem__isnull=True, uploaded_by=team_leader))
    assert len(staged) == 2
    html = failed.content.decode()
    for photo in staged:
        assert f'<input type="hidden" name="staged_photo" value="{photo.token}">' in html
        assert f'src="/photos/{photo.token}/thumb.jpg"' in html
    thumbnail = leader_client.get(f"/photos/{staged[0].token}/thumb.jpg")
    assert thumbnail.status_code == 200 and thumbnail["Content-Type"] == "image/jpeg"

    fixed = leader_client.post(NEW_URL, {**form_data(world), "staged_photo": [photo.token for photo in staged]})

    assert fixed.status_code == 302
    problem = Problem.objects.get()
    assert sorted(problem.photos.values_list("token", flat=True)) == sorted(photo.token for photo in staged)


def test_a_non_image_upload_gives_a_clear_error(world, leader_client):
    fake = SimpleUploadedFile("report.jpg", b"%PDF-1.4 not a photo at all", content_type="image/jpeg")

    response = leader_client.post(NEW_URL, {**form_data(world), "photos": [fake]})

    assert response.status_code == 400
    assert response.context["form"].errors["photos"] == ["report.jpg is not a photo we can read (JPEG, PNG, WebP…)."]
    assert "report.jpg is not a photo we can read" in response.content.decode()
    assert Problem.objects.count() == 0
    assert ProblemPhoto.objects.count() == 0


def test_a_good_photo_next_to_a_bad_file_is_kept_for_the_retry(world, leader_client):
    fake = SimpleUploadedFile("notes.txt", b"just text", content_type="text/plain")

    response = leader_client.post(NEW_URL, {**form_data(world), "photos": [photo_upload(), fake]})

    assert response.status_code == 400
    assert ProblemPhoto.objects.filter(problem__isnull=True).count() == 1
    assert 'name="staged_photo"' in response.content.decode()


def test_too_many_photos_are_refused(world, leader_client, settings):
    settings.QRQC_PHOTO_MAX_COUNT = 1

    response = leader_client.post(NEW_URL, {**form_data(world), "photos": [photo_upload(), photo_upload("b.png")]})

    assert response.status_code == 400
    assert response.context["form"].errors["photos"] == ["At most 1 photos per problem."]
    assert Problem.objects.count() == 0


def test_someone_elses_staged_photo_cannot_be_attached(world, leader_client, workshop_director):
    theirs = store_photo(resized_jpeg(photo_upload()), name="theirs.jpg", user=workshop_director)

    leader_client.post(NEW_URL, {**form_data(world), "staged_photo": [theirs.token]})

    assert Problem.objects.get().photos.count() == 0
    theirs.refresh_from_db()
    assert theirs.problem is None
    assert leader_client.get(f"/photos/{theirs.token}.jpg").status_code == 404


# --- the live grade preview (htmx) -------------------------------------------------------


def test_the_preview_shows_the_grade_and_why_without_storing(world, leader_client):
    response = leader_client.post(
        PREVIEW_URL,
        {"category": "equipment", "line": world.line_a1.pk, "downtime_minutes": "75"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-grade="B"' in html
    assert "B: 75 min unplanned downtime, limit 60 &lt; n ≤ 120" in html
    assert f"Threshold table version {current_table(world.plant).version}" in html
    assert Problem.objects.count() == 0


def test_the_preview_lists_fact_errors(world, leader_client):
    response = leader_client.post(
        PREVIEW_URL, {"category": "quality", "line": world.line_a1.pk, "defect_count": "lots", "defect_class": "A"}
    )

    assert response.status_code == 200
    assert "<li>Must be a number.</li>" in response.content.decode()
    assert "data-grade" not in response.content.decode()


def test_the_preview_without_a_line_asks_for_one(world, leader_client):
    response = leader_client.post(PREVIEW_URL, {"category": "quality"})

    assert "Choose a line and a category to see the grade." in response.content.decode()


@pytest.mark.parametrize("line", ["abc", "1.5", "²", "\x00", "99999999999999999999"])
def test_the_preview_treats_a_garbled_line_as_no_line(world, leader_client, line):
    response = leader_client.post(PREVIEW_URL, {"category": "quality", "line": line})

    assert response.status_code == 200
    assert "Choose a line and a category to see the grade." in response.content.decode()


def test_the_preview_only_answers_post(leader_client):
    assert leader_client.get(PREVIEW_URL).status_code == 405


def test_each_photo_gets_a_small_thumbnail_for_lists(world, leader_client):
    leader_client.post(NEW_URL, {**form_data(world), "photos": [photo_upload(size=(3000, 2000))]})

    photo = Problem.objects.get().photos.get()
    response = leader_client.get(f"/photos/{photo.token}/thumb.jpg")
    with Image.open(io.BytesIO(b"".join(response.streaming_content))) as thumbnail:
        assert thumbnail.size == (360, 240)
    assert photo.thumbnail.size < photo.image.size


def test_abandoned_staged_photos_are_purged_with_their_files_after_a_day(world, team_leader, media_in_tmp):
    old = store_photo(resized_jpeg(photo_upload()), name="old.png", user=team_leader)
    fresh = store_photo(resized_jpeg(photo_upload()), name="fresh.png", user=team_leader)
    ProblemPhoto.objects.filter(pk=old.pk).update(uploaded_at=timezone.now() - dt.timedelta(days=2))
    attached_problem = report_problem(
        Report(line=world.line_a1, category="quality", title="t", occurred_at=timezone.now()),
        reporter=team_leader,
        photos=[store_photo(resized_jpeg(photo_upload()), name="kept.png", user=team_leader)],
    )[0]
    ProblemPhoto.objects.filter(problem=attached_problem).update(uploaded_at=timezone.now() - dt.timedelta(days=9))

    assert purge_abandoned_photos() == 1

    assert set(ProblemPhoto.objects.values_list("original_name", flat=True)) == {"fresh.png", "kept.png"}
    assert not (media_in_tmp / old.image.name).exists()
    assert not (media_in_tmp / old.thumbnail.name).exists()
    assert (media_in_tmp / fresh.image.name).exists()


def test_a_station_on_the_chosen_line_is_stored_and_shown(world, leader_client):
    op20 = Station.objects.create(line=world.line_a1, code="op20", name_en="OP20", name_zh="OP20 工位")

    response = leader_client.post(NEW_URL, {**form_data(world), "station": op20.pk}, follow=True)

    assert Problem.objects.get().station == op20
    assert "OP20" in response.content.decode()


def test_the_form_tags_each_station_with_its_line_for_the_page_to_filter(world, leader_client):
    Station.objects.create(line=world.line_a1, code="op10", name_en="OP10")

    html = leader_client.get(NEW_URL).content.decode()

    assert re.search(rf'<option value="\d+" data-line="{world.line_a1.pk}">OP10</option>', html)


def test_a_station_of_another_line_is_refused(world, quality_engineer, client):
    client.force_login(quality_engineer)
    elsewhere = Station.objects.create(line=world.line_m1, code="op10", name_en="OP10")

    response = client.post(NEW_URL, {**form_data(world), "station": elsewhere.pk})

    assert response.status_code == 400
    assert response.context["form"].errors["station"] == ["This station is not on the chosen line."]
    assert Problem.objects.count() == 0


def test_rare_quality_facts_wait_behind_more_facts_and_open_when_filled(world, leader_client):
    closed = leader_client.get(NEW_URL).content.decode()
    quality = closed[closed.index('data-category="quality"') : closed.index('data-category="equipment"')]
    assert '<details class="morefacts">' in quality
    assert (
        quality.index('name="defect_count"') < quality.index("morefacts") < quality.index('name="customer_complaint"')
    )

    reopened = leader_client.post(NEW_URL, {**form_data(world, title=""), "customer_complaint": "true"})

    assert '<details class="morefacts" open>' in reopened.content.decode()
