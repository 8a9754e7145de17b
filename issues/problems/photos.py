"""Photos from the line: checked, turned upright, shrunk to a sensible size, stored as JPEG."""

from __future__ import annotations

import datetime as dt
import io
import logging
import secrets
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from issues.models import Problem, ProblemPhoto

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import UploadedFile

# What phones, tablets and screenshots give; other formats Pillow reads are not worth their decoders.
PHOTO_FORMATS = ("JPEG", "PNG", "WEBP")
THUMBNAIL_EDGE = 360

# Every image above the limit is refused right after its header is read (check_pixels), so
# Pillow's warning about the same image would only repeat the refusal in the log.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
logger = logging.getLogger(__name__)


def limit_decoding() -> None:
    """Pillow's own guard, for any image opened in this process: above the limit it warns, above
    twice the limit it refuses to open. Set once at start-up (IssuesConfig.ready)."""
    Image.MAX_IMAGE_PIXELS = settings.QRQC_PHOTO_MAX_PIXELS


def too_many_pixels(name: str) -> ValidationError:
    return ValidationError(
        _("%(name)s has more than %(limit)d megapixels: send a smaller photo.")
        % {"name": name, "limit": settings.QRQC_PHOTO_MAX_PIXELS // 1_000_000},
        code="too_many_pixels",
    )


def check_pixels(image: Image.Image, name: str) -> None:
    """Refuse from the header: a decompression bomb is a few KB that decode to gigabytes."""
    width, height = image.size
    if width * height > settings.QRQC_PHOTO_MAX_PIXELS:
        logger.info("refused %s: %d×%d pixels, above QRQC_PHOTO_MAX_PIXELS", name, width, height)
        raise too_many_pixels(name)


def decode_size(size: tuple[int, int], edge: int) -> tuple[int, int]:
    """Twice the size the photo is stored at: a JPEG may decode straight to 1/2, 1/4 or 1/8 of
    its pixels (Image.draft) as long as that leaves this much, and a 50 MP photo then costs a
    quarter of its memory. The margin is Pillow's own for thumbnails (reducing_gap=2)."""
    width, height = size
    scale = min(1.0, edge / max(width, height, 1))
    return max(1, round(width * scale * 2)), max(1, round(height * scale * 2))


def _jpeg(image: Image.Image, edge: int) -> bytes:
    image.thumbnail((edge, edge), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=82, optimize=True)
    return buffer.getvalue()


def thumbnail_jpeg(jpeg: bytes) -> bytes:
    """A small copy for lists and forms: a page of photos stays light on shop-floor Wi-Fi."""
    with Image.open(io.BytesIO(jpeg)) as image:
        return _jpeg(image.convert("RGB"), THUMBNAIL_EDGE)


def resized_jpeg(upload: UploadedFile) -> bytes:
    assert upload.name is not None and upload.size is not None  # a file sent with a request has both
    if upload.size > settings.QRQC_PHOTO_MAX_BYTES:
        raise ValidationError(
            _("%(name)s is larger than %(limit)d MB.")
            % {"name": upload.name, "limit": settings.QRQC_PHOTO_MAX_BYTES // (1024 * 1024)}
        )
    edge = settings.QRQC_PHOTO_MAX_EDGE
    try:
        upload.seek(0)
        with Image.open(upload, formats=PHOTO_FORMATS) as probe:
            check_pixels(probe, upload.name)
            probe.verify()
        upload.seek(0)
        with Image.open(upload, formats=PHOTO_FORMATS) as image:
            image.draft("RGB", decode_size(image.size, edge))
            return _jpeg(ImageOps.exif_transpose(image).convert("RGB"), edge)
    except Image.DecompressionBombError as exc:  # twice the limit: Pillow refuses to open it at all
        raise too_many_pixels(upload.name) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ValidationError(
            _("%(name)s is not a photo we can read (JPEG, PNG, WebP…).") % {"name": upload.name}
        ) from exc


def store_photo(jpeg: bytes, *, name: str, user: User, problem: Problem | None = None) -> ProblemPhoto:
    # uploaded_at is set now: the upload path (photo_path) reads it before the row is saved.
    photo = ProblemPhoto(
        problem=problem,
        uploaded_by=user,
        token=secrets.token_hex(16),
        original_name=name[:200],
        uploaded_at=timezone.now(),
    )
    # The ContentFile needs a name: Django reads width/height from it, and a nameless file counts as none.
    photo.image.save(f"{photo.token}.jpg", ContentFile(jpeg, name=f"{photo.token}.jpg"), save=False)
    thumb = f"{photo.token}-thumb.jpg"
    photo.thumbnail.save(thumb, ContentFile(thumbnail_jpeg(jpeg), name=thumb), save=False)
    photo.save()
    return photo


def staged_photos(user: User, tokens: Iterable[str]) -> list[ProblemPhoto]:
    """Photos this user uploaded with a form that did not validate, not yet on a problem."""
    tokens = [token for token in tokens if token][: settings.QRQC_PHOTO_MAX_COUNT]
    if not tokens:
        return []
    return list(ProblemPhoto.objects.filter(uploaded_by=user, problem__isnull=True, token__in=tokens))


def purge_staged_photos(older_than: dt.datetime) -> int:
    """Delete photos of forms that were never completed, with their files."""
    stale = list(ProblemPhoto.objects.filter(problem__isnull=True, uploaded_at__lt=older_than))
    for photo in stale:
        photo.image.delete(save=False)
        photo.thumbnail.delete(save=False)
    ProblemPhoto.objects.filter(pk__in=[photo.pk for photo in stale]).delete()
    return len(stale)
