"""Uploads cost little and bad ones get a clear answer (issue #11): photos above the pixel limit
are refused from their header before anything is decoded (a decompression bomb), requests above
the page's size are refused from their Content-Length before the body is read (413), and an
intake takes no more photos than the limit. bench/photo_bomb.py measures what a bomb costs."""

from __future__ import annotations

import io
import socket
import struct
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from issues.common.request_size import content_length, human_size, limit_name
from issues.eightd import solving
from issues.models import Problem, ProblemPhoto, SectionAttachment
from issues.problems.photos import decode_size, resized_jpeg
from tests.images import bomb_png
from tests.issues.eightd_factory import graded_problem
from tests.issues.test_intake_form import form_data

NEW_URL = "/problems/new/"
BOMB_MESSAGE = "bomb.png has more than 50 megapixels: send a smaller photo."
CSRF_SECRET = "k" * 32


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return bomb_png(10_000, 10_000)


@pytest.fixture
def leader_client(client, team_leader):
    client.force_login(team_leader)
    return client


def picture(name: str, size: tuple[int, int], image_format: str = "PNG", **save) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format=image_format, **save)
    return SimpleUploadedFile(name, buffer.getvalue())


def header_only_bomb(width: int, height: int) -> bytes:
    """A PNG whose header claims width×height but whose data holds one row: decoding it fails,
    so a refusal that names the pixel limit shows the header was all that was read."""
    chunk = bomb_png(1, 1)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    ihdr = struct.pack(">I", len(header)) + b"IHDR" + header + struct.pack(">I", zlib.crc32(b"IHDR" + header))
    return chunk[:8] + ihdr + chunk[8 + len(ihdr) :]


# --- the pixel limit, from the header -------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "accepted"),
    [((1000, 1000), True), ((1001, 1000), False), ((1, 1_000_001), False), ((4000, 3000), False)],
)
def test_a_photo_is_refused_above_the_pixel_limit(settings, size, accepted):
    settings.QRQC_PHOTO_MAX_PIXELS = 1_000_000

    upload = picture("shot.png", size)
    if accepted:
        assert resized_jpeg(upload)
    else:
        with pytest.raises(ValidationError) as refused:
            resized_jpeg(upload)
        assert refused.value.messages == ["shot.png has more than 1 megapixels: send a smaller photo."]


def test_a_photo_pillow_refuses_to_open_gets_the_same_answer(settings, monkeypatch):
    """Above twice Pillow's own limit Image.open raises instead of returning the header."""
    settings.QRQC_PHOTO_MAX_PIXELS = 1_000_000
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)

    with pytest.raises(ValidationError) as refused:
        resized_jpeg(picture("huge.png", (1500, 1500)))

    assert refused.value.messages == ["huge.png has more than 1 megapixels: send a smaller photo."]


def test_a_bomb_is_refused_from_its_header_before_it_is_decoded():
    upload = SimpleUploadedFile("bomb.png", header_only_bomb(10_000, 10_000))

    with pytest.raises(ValidationError) as refused:
        resized_jpeg(upload)

    assert refused.value.messages == [BOMB_MESSAGE]


def test_pillows_limit_is_the_photo_limit(settings):
    assert settings.QRQC_PHOTO_MAX_PIXELS == 50_000_000
    assert Image.MAX_IMAGE_PIXELS == settings.QRQC_PHOTO_MAX_PIXELS
    assert 8160 * 6120 <= settings.QRQC_PHOTO_MAX_PIXELS  # a 50 MP phone's photo


@pytest.mark.parametrize("image_format", ["BMP", "TIFF", "GIF"])
def test_formats_phones_do_not_send_are_not_decoded(image_format):
    with pytest.raises(ValidationError) as refused:
        resized_jpeg(picture(f"scan.{image_format.lower()}", (40, 30), image_format))

    assert "is not a photo we can read" in refused.value.messages[0]


@pytest.mark.parametrize(
    ("size", "edge", "decoded_at"),
    [
        ((8160, 6120), 1600, (3200, 2400)),
        ((6120, 8160), 1600, (2400, 3200)),
        ((4000, 3000), 1600, (3200, 2400)),
        ((1200, 800), 1600, (2400, 1600)),
        ((800, 600), 100, (200, 150)),
    ],
)
def test_a_jpeg_may_be_decoded_at_twice_the_stored_size(size, edge, decoded_at):
    assert decode_size(size, edge) == decoded_at


def test_a_large_jpeg_decoded_at_a_smaller_scale_keeps_its_size_and_orientation(settings):
    settings.QRQC_PHOTO_MAX_EDGE = 100
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: the camera was turned a quarter, the photo is shown upright

    jpeg = resized_jpeg(picture("turned.jpg", (800, 600), "JPEG", exif=exif.tobytes()))

    assert Image.open(io.BytesIO(jpeg)).size == (75, 100)


def test_a_bomb_on_the_intake_form_is_refused_and_nothing_is_stored(world, leader_client, bomb):
    photo = SimpleUploadedFile("bomb.png", bomb, content_type="image/png")

    response = leader_client.post(NEW_URL, {**form_data(world), "photos": [photo]})

    assert response.status_code == 400
    assert response.context["form"].errors["photos"] == [BOMB_MESSAGE]
    assert BOMB_MESSAGE in response.content.decode()
    assert (Problem.objects.count(), ProblemPhoto.objects.count()) == (0, 0)


def test_the_refusal_is_in_the_users_language(world, leader_client, bomb):
    photo = SimpleUploadedFile("bomb.png", bomb, content_type="image/png")

    response = leader_client.post(
        NEW_URL, {**form_data(world), "photos": [photo]}, headers={"accept-language": "zh-hans"}
    )

    assert response.context["form"].errors["photos"] == ["bomb.png 超过 50 百万像素：请发送较小的照片。"]


def test_a_bomb_attached_to_an_8d_section_is_refused(world, team_leader, quality_engineer, client, bomb):
    report = solving.start_report(graded_problem(world.line_a1, team_leader, "A"), user=quality_engineer)
    client.force_login(quality_engineer)
    url = reverse("eightd:attachment_upload", args=[report.problem_id, "D2"])

    response = client.post(url, {"file-file": SimpleUploadedFile("bomb.png", bomb)})

    assert response.status_code == 400
    assert BOMB_MESSAGE in response.content.decode()
    assert SectionAttachment.objects.count() == 0


# --- the number of photos -------------------------------------------------------------------


def test_too_many_photos_are_refused_before_any_is_decoded(world, leader_client, settings, team_leader):
    settings.QRQC_PHOTO_MAX_COUNT = 2
    staged = ProblemPhoto.objects.count()
    photos = [picture(f"{index}.png", (300, 200)) for index in range(2)]

    response = leader_client.post(NEW_URL, {**form_data(world), "photos": photos, "staged_photo": ["a" * 32]})

    assert response.status_code == 400
    assert response.context["form"].errors["photos"] == ["At most 2 photos per problem."]
    assert ProblemPhoto.objects.count() == staged  # none was resized and kept for a retry


# --- the request's size, from its Content-Length ----------------------------------------------


@pytest.mark.parametrize(
    ("header", "length"), [(None, 0), ("", 0), ("12", 12), ("-5", 0), ("12abc", 0), ("9" * 30, int("9" * 30))]
)
def test_the_content_length_is_read_as_django_reads_it(header, length):
    assert content_length(header) == length


@pytest.mark.parametrize(
    ("view_name", "is_api", "setting"),
    [
        ("problems:new", False, "QRQC_INTAKE_MAX_REQUEST_BYTES"),
        ("eightd:attachment_upload", False, "QRQC_ATTACHMENT_MAX_REQUEST_BYTES"),
        ("api:grade", True, "QRQC_API_MAX_REQUEST_BYTES"),
        ("api:problem-list", True, "QRQC_API_MAX_REQUEST_BYTES"),
        ("meetings:start", False, "QRQC_REQUEST_MAX_BYTES"),
        (None, False, "QRQC_REQUEST_MAX_BYTES"),
    ],
)
def test_each_page_has_its_request_limit(view_name, is_api, setting):
    assert limit_name(view_name, is_api) == setting


@pytest.mark.parametrize(
    ("size", "shown"), [(1, "1 KB"), (65_536, "64 KB"), (10 * 2**20, "10 MB"), (1_572_864, "1.5 MB")]
)
def test_sizes_are_shown_in_kb_or_mb(size, shown):
    assert human_size(size) == shown


def test_the_intake_limit_is_the_photos_and_a_margin(settings):
    photos = settings.QRQC_PHOTO_MAX_COUNT * settings.QRQC_PHOTO_MAX_BYTES
    assert photos < settings.QRQC_INTAKE_MAX_REQUEST_BYTES <= photos + 2 * 2**20


def too_big(client, url: str, length: int, **extra):
    """A POST announcing `length` bytes and carrying three: the test client's payload raises if
    anything tries to read past them, so an answer proves the body was left unread."""
    return client.generic(
        "POST", url, b"--x", content_type="multipart/form-data; boundary=x", CONTENT_LENGTH=str(length), **extra
    )


def test_an_intake_above_its_limit_is_refused_with_413(world, leader_client, settings):
    response = too_big(leader_client, NEW_URL, settings.QRQC_INTAKE_MAX_REQUEST_BYTES + 1)

    assert response.status_code == 413
    assert "more than the 121 MB this page takes. Send fewer or smaller files." in response.content.decode()


def test_the_413_page_says_how_large_the_request_was(world, leader_client):
    response = too_big(leader_client, NEW_URL, 130 * 2**20)

    assert "This request is 130 MB, more than the 121 MB this page takes." in response.content.decode()


def test_the_413_page_is_in_the_users_language(world, leader_client, settings):
    response = too_big(leader_client, NEW_URL, 200 * 2**20, headers={"accept-language": "zh-hans"})

    assert response.status_code == 413
    assert "此请求为 200 MB，超过此页面可接受的 121 MB。" in response.content.decode()


def test_an_8d_upload_above_its_limit_is_refused_with_413(world, client, quality_engineer, team_leader, settings):
    report = solving.start_report(graded_problem(world.line_a1, team_leader, "A"), user=quality_engineer)
    client.force_login(quality_engineer)
    url = reverse("eightd:attachment_upload", args=[report.problem_id, "D2"])

    response = too_big(client, url, settings.QRQC_ATTACHMENT_MAX_REQUEST_BYTES + 1)

    assert response.status_code == 413


def test_any_other_page_takes_no_more_than_a_form(world, leader_client, settings):
    response = too_big(leader_client, "/meetings/start/", settings.QRQC_REQUEST_MAX_BYTES + 1)

    assert response.status_code == 413


def test_an_api_call_above_its_limit_gets_413_in_json(world, leader_client, settings):
    response = leader_client.generic(
        "POST",
        "/api/v1/grade/",
        b"{}",
        content_type="application/json",
        CONTENT_LENGTH=str(settings.QRQC_API_MAX_REQUEST_BYTES + 1),
    )

    assert response.status_code == 413
    assert response.json() == {"detail": "This request is 65 KB, more than the 64 KB this address takes."}


def test_a_huge_request_is_answered_without_waiting_for_its_body(transactional_db, live_server, world, team_leader):
    """Over a raw socket: ten gigabytes announced, a few bytes sent, with a session and a CSRF
    cookie as a browser has them. Before the limit the server read on (the CSRF check parses the
    form to find its token) and never answered; the socket's timeout catches that."""
    from django.test import Client

    session = Client()
    session.force_login(team_leader)
    host, port = live_server.thread.host, live_server.thread.port
    request = (
        f"POST {NEW_URL} HTTP/1.1\r\nHost: localhost\r\n"
        f"Cookie: sessionid={session.cookies['sessionid'].value}; csrftoken={CSRF_SECRET}\r\n"
        f"X-CSRFToken: {CSRF_SECRET}\r\n"
        "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 10000000000\r\n\r\n--x\r\n"
    ).encode()
    with socket.create_connection((host, port), timeout=20) as connection:
        connection.sendall(request)
        answer = b""
        while b"</html>" not in answer:
            chunk = connection.recv(65536)
            if not chunk:
                break
            answer += chunk

    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line == b"HTTP/1.1 413 Request Entity Too Large"
    assert "more than the 121 MB this page takes" in answer.decode()
