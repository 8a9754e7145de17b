"""Photos from the line: checked, turned upright, shrunk to a sensible size, stored as JPEG."""

from __future__ import annotations

import datetime as dt
import io
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from issues.models import ProblemPhoto

# A decompression bomb is refused before it is decoded.
Image.MAX_IMAGE_PIXELS = 60_000_000


THUMBNAIL_EDGE = 360


def _jpeg(image: Image.Image, edge: int) -> bytes:
    image.thumbnail((edge, edge), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=82, optimize=True)
    return buffer.getvalue()


def thumbnail_jpeg(jpeg: bytes) -> bytes:
    """A small copy for lists and forms: a page of photos stays light on shop-floor Wi-Fi."""
    with Image.open(io.BytesIO(jpeg)) as image:
        return _jpeg(image.convert("RGB"), THUMBNAIL_EDGE)


def resized_jpeg(upload) -> bytes:
    if upload.size > settings.QRQC_PHOTO_MAX_BYTES:
        raise ValidationError(
            _("%(name)s is larger than %(limit)d MB.")
            % {"name": upload.name, "limit": settings.QRQC_PHOTO_MAX_BYTES // (1024 * 1024)}
        )
    try:
        upload.seek(0)
        with Image.open(upload) as probe:
            probe.verify()
        upload.seek(0)
        with Image.open(upload) as image:
            return _jpeg(ImageOps.exif_transpose(image).convert("RGB"), settings.QRQC_PHOTO_MAX_EDGE)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError, ValueError) as exc:
        raise ValidationError(
            _("%(name)s is not a photo we can read (JPEG, PNG, WebP…).") % {"name": upload.name}
        ) from exc


def store_photo(jpeg: bytes, *, name: str, user, problem=None) -> ProblemPhoto:
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


def staged_photos(user, tokens) -> list[ProblemPhoto]:
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
