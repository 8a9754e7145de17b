"""What the 8D printout shows of a report, as plain data.

`eightd_print_data` reads a report in a handful of queries, whatever its size, and turns it
into issues.eightd.printout's dataclasses: labels from issues.eightd.sections in the printout's
language, choices as their labels, people as their display names, dates as YYYY-MM-DD in the
plant's time zone. issues.eightd.printout.render_eightd draws it."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy

from issues.common.people import person_name
from issues.common.printing import text_in
from issues.eightd.printout import EightDPrint, Grid, Photo, Row, SectionPrint, Signature
from issues.eightd.rules import CHECKLIST, DOCUMENTS
from issues.eightd.sections import FORMS, TABLE_LABELS, answer_text, iso_date, people_ids
from issues.models import EightDReport, Grade, Line, Problem, Section, SectionAttachment, SectionCode

# D8's sign-offs are printed once, in the signature block that ends the report.
SIGNOFFS = "signoffs"
# D7's document checklist is printed as one table, not twelve label/value rows.
CHECKLIST_FIELDS = {f"{item}_{part}" for item in CHECKLIST for part in ("status", "reference", "reason")}


def _local_date(moment: dt.datetime | None, zone) -> str:
    return timezone.localtime(moment, zone).date().isoformat() if moment else ""


def _name_of(place, language: str) -> str:
    """A plant, workshop or line in the printout's language (both names for "both")."""
    chinese = place.name_zh or place.name_en
    if language == "en" or chinese == place.name_en:
        return place.name_en
    return chinese if language == "zh-hans" else f"{place.name_en} / {chinese}"


def _label(field: forms.Field, language: str) -> str:
    return text_in(field.label or "", language)  # every field of the section forms has its label


def _checklist(content: dict, language: str) -> Grid | None:
    """D7: each document updated (with its reference) or not applicable (with a reason)."""
    fields = FORMS["D7"].base_fields
    rows = []
    for item in CHECKLIST:
        cells = [
            answer_text(fields[f"{item}_{part}"], content.get(f"{item}_{part}"), {}, language)
            for part in ("status", "reference", "reason")
        ]
        if any(cells):
            rows.append((text_in(DOCUMENTS[item], language), *cells))
    if not rows:
        return None
    item = CHECKLIST[0]
    columns = (
        text_in(gettext_lazy("Document"), language),
        text_in(Problem._meta.get_field("status").verbose_name, language),
        _label(fields[f"{item}_reference"], language),
        _label(fields[f"{item}_reason"], language),
    )
    return Grid(text_in(gettext_lazy("Documents updated"), language), columns, tuple(rows))


def _grids(code: str, content: dict, names: dict[int, str], language: str) -> list[Grid]:
    grids = []
    for table, row_form in FORMS[code].tables.items():
        if table == SIGNOFFS:
            continue
        entries = [entry for entry in content.get(table) or [] if isinstance(entry, dict)]
        if not entries:
            continue
        fields = row_form.base_fields
        grids.append(
            Grid(
                title=text_in(TABLE_LABELS.get(table, table), language),
                columns=tuple(_label(field, language) for field in fields.values()),
                rows=tuple(
                    tuple(answer_text(field, entry.get(name), names, language) for name, field in fields.items())
                    for entry in entries
                ),
            )
        )
    return grids


def _picture(file, caption: str) -> Photo:
    # A stored file's path: the renderer reads it, and prints "photo missing" if it is gone.
    return Photo(image=file.path if file else None, caption=caption)


def _section_print(section: Section, problem_photos: list[Photo], names, language: str, zone) -> SectionPrint:
    form_class = FORMS[section.code]
    content = section.content or {}
    rows = []
    if section.state == Section.State.NOT_APPLICABLE:
        rows.append(Row(text_in(Section._meta.get_field("na_reason").verbose_name, language), section.na_reason))
    for name, field in form_class.base_fields.items():
        value = "" if name in CHECKLIST_FIELDS else answer_text(field, content.get(name), names, language)
        if value:
            rows.append(Row(_label(field, language), value))
    grids = _grids(section.code, content, names, language)
    if section.code == "D7" and (checklist := _checklist(content, language)):
        grids.insert(0, checklist)
    attachments = list(section.attachments.all())
    photos = [
        _picture(attachment.file, attachment.caption or attachment.original_name)
        for attachment in attachments
        if attachment.kind == SectionAttachment.Kind.PHOTO
    ]
    accepted = section.done_at if section.state == Section.State.ACCEPTED else None
    return SectionPrint(
        code=section.code,
        title=text_in(SectionCode(section.code).label, language),
        state=text_in(Section.State(section.state).label, language),
        due_on=_local_date(section.due_at, zone),
        accepted_on=_local_date(accepted, zone),
        rows=tuple(rows),
        grids=tuple(grids),
        photos=tuple((problem_photos if section.code == "D2" else []) + photos),
        documents=tuple(
            attachment.original_name for attachment in attachments if attachment.kind == SectionAttachment.Kind.DOCUMENT
        ),
    )


def _field_label(model, name: str, language: str) -> str:
    return text_in(model._meta.get_field(name).verbose_name, language)


def _header(report: EightDReport, names: dict[int, str], language: str, zone) -> tuple[Row, ...]:
    problem = report.problem
    line = problem.line
    occurred = timezone.localtime(problem.occurred_at, zone)
    return tuple(
        Row(label, value)
        for label, value in (
            (_field_label(EightDReport, "customer", language), report.customer),
            (_field_label(Problem, "number", language), problem.number),
            (_field_label(EightDReport, "part_number", language), report.part_number),
            (_field_label(EightDReport, "part_name", language), report.part_name),
            (_field_label(Problem, "title", language), problem.title),
            (_field_label(Problem, "grade", language), text_in(Grade(problem.grade).label, language)),
            (_field_label(Problem, "plant", language), _name_of(problem.plant, language)),
            (_field_label(Line, "workshop", language), _name_of(line.workshop, language)),
            (_field_label(Problem, "line", language), _name_of(line, language)),
            (_field_label(Problem, "occurred_at", language), f"{occurred:%Y-%m-%d %H:%M}"),
            (_field_label(EightDReport, "created_at", language), _local_date(report.created_at, zone)),
            (
                _field_label(EightDReport, "leader", language),
                names.get(report.leader_id, "") if report.leader_id else "",
            ),
            (_field_label(Problem, "status", language), text_in(Problem.Status(problem.status).label, language)),
            (_field_label(Problem, "due_date", language), iso_date(problem.due_date) if problem.due_date else ""),
            (_field_label(Problem, "closed_at", language), _local_date(problem.closed_at, zone)),
        )
    )


def _display_names(ids: set[int]) -> dict[int, str]:
    return {
        person.pk: person_name(person)
        for person in get_user_model().objects.filter(pk__in=ids).select_related("profile")
    }


def eightd_print_data(report: EightDReport, language: str, *, now: dt.datetime | None = None) -> EightDPrint:
    """What the printout shows of `report`, in `language` ("en", "zh-hans" or "both").
    Four queries however many sections, rows, people and photos: the sections, their
    attachments, the problem's photos, and everyone named in the answers."""
    problem = report.problem
    zone = problem.plant.zone
    sections = list(report.sections.prefetch_related("attachments").order_by("code"))
    ids = {report.leader_id} if report.leader_id else set()
    for section in sections:
        ids |= people_ids(section.code, section.content or {})
    names = _display_names(ids)
    problem_photos = [_picture(photo.image, photo.original_name) for photo in problem.photos.all()]
    d8 = next((section.content or {} for section in sections if section.code == "D8"), {})
    signatures = tuple(
        Signature(
            name=names.get(entry.get("person", 0), ""),
            function=str(entry.get("function") or ""),
            signed_on=iso_date(entry["signed_on"]) if entry.get("signed_on") else "",
        )
        for entry in d8.get("signoffs") or []
        if isinstance(entry, dict)
    )
    return EightDPrint(
        number=problem.number,
        header=_header(report, names, language, zone),
        sections=tuple(_section_print(section, problem_photos, names, language, zone) for section in sections),
        signatures=signatures,
        printed_on=_local_date(now or timezone.now(), zone),
    )
