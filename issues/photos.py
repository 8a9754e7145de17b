"""Photos from the line: checked, turned upright, shrunk to a sensible size, stored as JPEG."""

from __future__ import annotations

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
            image = ImageOps.exif_transpose(image)
            image = image.convert("RGB")
            edge = settings.QRQC_PHOTO_MAX_EDGE
            image.thumbnail((edge, edge), Image.Resampling.LANCZOS)
            buffer = io.BytesIO()
            image.save(buffer, format="JPEG", quality=82, optimize=True)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError, ValueError) as exc:
        raise ValidationError(_("%(name)s is not a photo we can read (JPEG, PNG, WebP…).") % {"name": upload.name}) from exc
    return buffer.getvalue()


def store_photo(jpeg: bytes, *, name: str, user, problem=None) -> ProblemPhoto:
    # uploaded_at is set now: the upload path (photo_path) reads it before the row is saved.
    photo = ProblemPhoto(
        problem=problem, uploaded_by=user, token=secrets.token_hex(16), original_name=name[:200],
        uploaded_at=timezone.now(),
    )
    # The ContentFile needs a name: Django reads width/height from it, and a nameless file counts as none.
    photo.image.save(f"{photo.token}.jpg", ContentFile(jpeg, name=f"{photo.token}.jpg"), save=False)
    photo.save()
    return photo


def staged_photos(user, tokens) -> list[ProblemPhoto]:
    """Photos this user uploaded with a form that did not validate, not yet on a problem."""
    tokens = [token for token in tokens if token][: settings.QRQC_PHOTO_MAX_COUNT]
    if not tokens:
        return []
    return list(ProblemPhoto.objects.filter(uploaded_by=user, problem__isnull=True, token__in=tokens))
