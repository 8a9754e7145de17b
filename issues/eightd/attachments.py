"""Files on an 8D section: photos (re-encoded as JPEG with a thumbnail, as issues.problems.photos does
for the intake) and a few document types, each recognised by its content, not by its name.

The type is sniffed because the name and the browser's content type are the sender's claim:
a script renamed report.pdf must not be stored and later served as a PDF."""

from __future__ import annotations

import os
import secrets
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from issues.models import Section, SectionAttachment
from issues.problems.photos import PHOTO_FORMATS, resized_jpeg, thumbnail_jpeg, too_many_pixels

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import UploadedFile

Kind = SectionAttachment.Kind

PHOTO_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp"})
PDF = "application/pdf"
# Office Open XML files are zip archives; the folder inside tells a workbook from a document.
OFFICE = {
    ".xlsx": ("xl/", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ".docx": ("word/", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ".pptx": ("ppt/", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
}
TEXT = {".txt": "text/plain; charset=utf-8", ".csv": "text/csv; charset=utf-8"}
KNOWN_EXTENSIONS = PHOTO_EXTENSIONS | {".pdf"} | OFFICE.keys() | TEXT.keys()
ACCEPT = ",".join(sorted(KNOWN_EXTENSIONS))  # the file input's hint to the browser


@dataclass(frozen=True)
class Checked:
    kind: str
    content_type: str
    extension: str
    jpeg: bytes | None = None  # photos only: the re-encoded image


def _head(upload, size: int) -> bytes:
    upload.seek(0)
    return upload.read(size)


def _image_format(upload) -> str | None:
    upload.seek(0)
    try:
        with Image.open(upload) as probe:
            return probe.format
    except Image.DecompressionBombError as exc:
        raise too_many_pixels(upload.name) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None


def _is_office(upload, folder: str) -> bool:
    upload.seek(0)
    try:
        with zipfile.ZipFile(upload) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    return "[Content_Types].xml" in names and any(name.startswith(folder) for name in names)


def _is_text(upload) -> bool:
    data = _head(upload, settings.QRQC_ATTACHMENT_MAX_BYTES + 1)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in data


def check_upload(upload: UploadedFile) -> Checked:
    """What the upload is, or ValidationError saying why it is refused."""
    assert upload.name is not None and upload.size is not None  # a file sent with a request has both
    name = upload.name
    if upload.size > settings.QRQC_ATTACHMENT_MAX_BYTES:
        raise ValidationError(
            _("%(name)s is larger than %(limit)d MB.")
            % {"name": name, "limit": settings.QRQC_ATTACHMENT_MAX_BYTES // (1024 * 1024)}
        )
    if not upload.size:
        raise ValidationError(_("%(name)s is empty.") % {"name": name})
    extension = os.path.splitext(name)[1].lower()
    image_format = _image_format(upload)
    if image_format in PHOTO_FORMATS:
        return Checked(Kind.PHOTO, "image/jpeg", ".jpg", resized_jpeg(upload))
    if _head(upload, 5) == b"%PDF-" and extension == ".pdf":
        return Checked(Kind.DOCUMENT, PDF, extension)
    if extension in OFFICE and _head(upload, 4) == b"PK\x03\x04" and _is_office(upload, OFFICE[extension][0]):
        return Checked(Kind.DOCUMENT, OFFICE[extension][1], extension)
    if extension in TEXT and _is_text(upload):
        return Checked(Kind.DOCUMENT, TEXT[extension], extension)
    if extension in KNOWN_EXTENSIONS:
        raise ValidationError(
            _("%(name)s is not really a %(extension)s file: its content says otherwise.")
            % {"name": name, "extension": extension}
        )
    raise ValidationError(
        _(
            "%(name)s is not a type we accept. Attach photos (JPEG, PNG, WebP), PDF, Excel, Word or "
            "PowerPoint files (xlsx, docx, pptx), or text (txt, csv)."
        )
        % {"name": name}
    )


def _editable(section: Section) -> None:
    if section.locked:
        raise ValidationError(
            _("%(section)s is “%(state)s”: its files cannot change now.")
            % {"section": section.code, "state": section.get_state_display()}
        )


def store_attachment(section: Section, upload: UploadedFile, *, user: User, caption: str = "") -> SectionAttachment:
    """Check and keep one file on a section that is still being answered."""
    checked = check_upload(upload)
    assert upload.name is not None and upload.size is not None  # check_upload refuses a file without them
    with transaction.atomic():
        # The section's row lock makes the count check hold against two uploads at once.
        section = Section.objects.select_for_update().get(pk=section.pk)
        _editable(section)
        if section.attachments.count() >= settings.QRQC_ATTACHMENT_MAX_COUNT:
            raise ValidationError(
                _("A section holds at most %(count)d files.") % {"count": settings.QRQC_ATTACHMENT_MAX_COUNT}
            )
        # uploaded_at is set now: the upload path (attachment_path) reads it before the row is saved.
        attachment = SectionAttachment(
            section=section,
            kind=checked.kind,
            token=secrets.token_hex(16),
            original_name=upload.name[:200],
            content_type=checked.content_type,
            caption=caption.strip()[:200],
            uploaded_by=user,
            uploaded_at=timezone.now(),
        )
        # Stored under the token: the sender's file name never becomes a path on the disk.
        stored = f"{attachment.token}{checked.extension}"
        if checked.jpeg is not None:
            attachment.file.save(stored, ContentFile(checked.jpeg, name=stored), save=False)
            thumb = f"{attachment.token}-thumb.jpg"
            attachment.thumbnail.save(thumb, ContentFile(thumbnail_jpeg(checked.jpeg), name=thumb), save=False)
            attachment.size = len(checked.jpeg)
        else:
            upload.seek(0)
            attachment.file.save(stored, upload, save=False)
            attachment.size = upload.size
        attachment.save()
    return attachment


def delete_attachment(attachment: SectionAttachment, *, user: User) -> None:
    """The uploader removes their own file while the section is still being answered."""
    with transaction.atomic():
        section = Section.objects.select_for_update().get(pk=attachment.section_id)
        _editable(section)
        if attachment.uploaded_by_id != user.pk:
            raise ValidationError(_("Only the person who attached a file removes it."))
        storage, names = attachment.file.storage, [attachment.file.name, attachment.thumbnail.name]
        attachment.delete()

        def delete_files() -> None:
            for name in names:
                if name:
                    storage.delete(name)

        # Files go once the row is surely gone; a rolled-back delete keeps them.
        transaction.on_commit(delete_files)
