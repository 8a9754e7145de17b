"""Files on 8D sections: what is accepted (recognised by content, within size and count
limits), thumbnails for photos, who may fetch and remove them."""

from __future__ import annotations

import io
import os
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from issues.eightd import solving
from issues.eightd.attachments import check_upload
from issues.models import Role, Section, SectionAttachment
from tests.conftest import make_person
from tests.issues.eightd_factory import clean_answer, graded_problem, valid_content

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def problem(world, team_leader):
    return graded_problem(world.line_a1, team_leader, "A")


@pytest.fixture
def report(problem, quality_engineer):
    return solving.start_report(problem, user=quality_engineer)


@pytest.fixture
def editor(client, quality_engineer, report):
    client.force_login(quality_engineer)
    return client


def image(name="burr.png", size=(3000, 2000), image_format="PNG") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format=image_format)
    return SimpleUploadedFile(name, buffer.getvalue())


def office(name: str, folder: str) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(f"{folder}document.xml", "<document/>")
    return SimpleUploadedFile(name, buffer.getvalue())


def upload_url(report, code="D2") -> str:
    return reverse("eightd:attachment_upload", args=[report.problem_id, code])


def attach(client, report, upload, code="D2", caption=""):
    return client.post(upload_url(report, code), {"file-file": upload, "file-caption": caption})


# --- what is accepted ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("upload", "kind", "content_type"),
    [
        (lambda: image("burr.jpg", image_format="JPEG"), "photo", "image/jpeg"),
        (lambda: image("burr.webp", (400, 300), "WEBP"), "photo", "image/jpeg"),
        (lambda: SimpleUploadedFile("8d.pdf", b"%PDF-1.4\n%%EOF\n"), "document", "application/pdf"),
        (lambda: office("plan.xlsx", "xl/"), "document", XLSX),
        (lambda: office("Report.DOCX", "word/"), "document", DOCX),
        (
            lambda: SimpleUploadedFile("counts.csv", "批次,数量\n12,25\n".encode()),
            "document",
            "text/csv; charset=utf-8",
        ),
    ],
)
def test_photos_and_the_usual_documents_are_recognised_by_their_content(upload, kind, content_type):
    checked = check_upload(upload())

    assert (checked.kind, checked.content_type) == (kind, content_type)


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (lambda: image("anim.gif", (20, 20), "GIF"), "not a type we accept"),
        (lambda: SimpleUploadedFile("setup.exe", b"MZ\x90\x00"), "not a type we accept"),
        (lambda: SimpleUploadedFile("page.html", b"<script>alert(1)</script>"), "not a type we accept"),
        (lambda: SimpleUploadedFile("report.pdf", b"<script>alert(1)</script>"), "not really a .pdf file"),
        (lambda: SimpleUploadedFile("photo.jpg", b"just text"), "not really a .jpg file"),
        (lambda: office("plan.xlsx", "word/"), "not really a .xlsx file"),
        (lambda: SimpleUploadedFile("plan.docx", b"PK\x03\x04 not a zip"), "not really a .docx file"),
        (lambda: SimpleUploadedFile("counts.csv", "批次".encode("gb18030")), "not really a .csv file"),
        (lambda: SimpleUploadedFile("empty.txt", b""), "is empty"),
    ],
)
def test_other_files_and_disguised_ones_are_refused_with_a_reason(upload, message):
    with pytest.raises(ValidationError) as refused:
        check_upload(upload())

    assert message in refused.value.messages[0]


def test_a_file_over_the_size_limit_is_refused(settings):
    settings.QRQC_ATTACHMENT_MAX_BYTES = 1024 * 1024

    with pytest.raises(ValidationError) as refused:
        check_upload(SimpleUploadedFile("log.txt", b"x" * (1024 * 1024 + 1)))

    assert refused.value.messages == ["log.txt is larger than 1 MB."]


# --- uploading on the section page --------------------------------------------------------


def test_a_photo_is_shrunk_and_gets_a_thumbnail(editor, report, quality_engineer):
    response = attach(editor, report, image(), caption="Flange, station 3")

    assert response.status_code == 302
    photo = SectionAttachment.objects.get()
    assert (photo.kind, photo.uploaded_by, photo.caption) == ("photo", quality_engineer, "Flange, station 3")
    with Image.open(photo.file.path) as stored, Image.open(photo.thumbnail.path) as thumb:
        assert (stored.format, max(stored.size)) == ("JPEG", 1600)
        assert max(thumb.size) == 360
    page = editor.get(reverse("eightd:section", args=[report.problem_id, "D2"])).content.decode()
    assert reverse("eightd:attachment_thumb", args=[photo.token]) in page
    thumb = editor.get(reverse("eightd:attachment_thumb", args=[photo.token]))
    assert (thumb.status_code, thumb["Content-Type"]) == (200, "image/jpeg")
    assert thumb["Cache-Control"].startswith("private")


def test_a_document_is_listed_with_its_size_and_downloads_under_its_name(editor, report):
    attach(editor, report, SimpleUploadedFile("8D draft.pdf", b"%PDF-1.4\n" + b"0" * 2048))

    document = SectionAttachment.objects.get()
    page = editor.get(reverse("eightd:section", args=[report.problem_id, "D2"])).content.decode()
    download = editor.get(reverse("eightd:attachment", args=[document.token]))

    assert "8D draft.pdf" in page
    assert "2.0\xa0KB" in page
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment;")
    assert b"".join(download.streaming_content).startswith(b"%PDF-")
    assert editor.get(reverse("eightd:attachment_thumb", args=[document.token])).status_code == 404


def test_a_refused_upload_says_why_and_stores_nothing(editor, report):
    response = attach(editor, report, SimpleUploadedFile("invoice.pdf", b"MZ\x90\x00"))

    assert response.status_code == 400
    assert "invoice.pdf is not really a .pdf file" in response.content.decode()
    assert not SectionAttachment.objects.exists()


def test_a_section_takes_no_more_files_than_the_limit(editor, report, settings):
    settings.QRQC_ATTACHMENT_MAX_COUNT = 2
    for name in ("a.txt", "b.txt"):
        assert attach(editor, report, SimpleUploadedFile(name, b"note")).status_code == 302

    third = attach(editor, report, SimpleUploadedFile("c.txt", b"note"))

    assert third.status_code == 400
    assert "A section holds at most 2 files." in third.content.decode()
    assert SectionAttachment.objects.count() == 2


def test_a_submitted_section_takes_no_files(editor, problem, report, quality_engineer):
    section = Section.objects.get(report=report, code="D2")
    solving.submit(
        section, user=quality_engineer, content=clean_answer(problem, "D2", valid_content("D2", [quality_engineer]))
    )

    response = attach(editor, report, SimpleUploadedFile("late.txt", b"note"))

    assert response.status_code == 400
    assert "its files cannot change now" in response.content.decode()
    assert not SectionAttachment.objects.exists()


def test_someone_who_cannot_edit_cannot_attach(client, report, team_leader):
    client.force_login(team_leader)

    assert attach(client, report, SimpleUploadedFile("note.txt", b"note")).status_code == 403
    assert not SectionAttachment.objects.exists()


# --- fetching and removing ----------------------------------------------------------------


def test_only_people_in_scope_fetch_a_file(editor, report, team_leader, outsider):
    client = editor
    attach(client, report, image())
    token = SectionAttachment.objects.get().token
    full, thumb = reverse("eightd:attachment", args=[token]), reverse("eightd:attachment_thumb", args=[token])

    client.force_login(team_leader)
    assert client.get(full).status_code == 200
    client.force_login(outsider)
    assert client.get(full).status_code == 404
    assert client.get(thumb).status_code == 404
    client.logout()
    assert client.get(full).status_code == 302


def test_the_uploader_removes_their_file_and_nobody_else_does(
    client, report, world, quality_engineer, django_capture_on_commit_callbacks
):
    client.force_login(quality_engineer)
    attach(client, report, image())
    photo = SectionAttachment.objects.get()
    remove = reverse("eightd:attachment_delete", args=[report.problem_id, "D2", photo.token])
    paths = [photo.file.path, photo.thumbnail.path]

    client.force_login(make_person("qm", Role.QUALITY_MANAGER, plant=world.plant))
    refused = client.post(remove, follow=True)
    assert "Only the person who attached a file removes it." in refused.content.decode()
    assert SectionAttachment.objects.filter(pk=photo.pk).exists()

    client.force_login(quality_engineer)
    with django_capture_on_commit_callbacks(execute=True):
        removed = client.post(remove)
    assert removed.status_code == 302
    assert not SectionAttachment.objects.exists()
    assert not any(os.path.exists(path) for path in paths)
