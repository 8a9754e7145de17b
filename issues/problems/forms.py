"""The intake form: what a shift leader fills in at the line (issue #2)."""

from __future__ import annotations

import uuid

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from issues.common.people import PersonField
from issues.common.scope import visible_lines
from issues.eightd.rules import CHECKLIST, DOCUMENTS, NOT_APPLICABLE, UPDATED, checklist_errors, checklist_from
from issues.grading.facts import FACTS, clean_facts
from issues.models import Category, CauseFamily, Kind, Shift, Source, Station
from issues.problems.intake import Report, failure_mode_named, validate_occurred_at
from issues.problems.photos import resized_jpeg


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultiplePhotoField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*", "capture": "environment"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else ([data] if data else [])
        return [super(MultiplePhotoField, self).clean(item, initial) for item in files]


class StationSelect(forms.Select):
    """Each option knows its line, so the page offers only the chosen line's stations."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        if getattr(value, "instance", None) is not None:
            option["attrs"]["data-line"] = value.instance.line_id
        return option


class ProblemForm(forms.Form):
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=80)
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices, widget=forms.RadioSelect)
    line = forms.ModelChoiceField(label=_("Line"), queryset=None)
    shift = forms.ModelChoiceField(label=_("Shift"), queryset=None, required=False)
    station = forms.ModelChoiceField(
        label=_("Station"), queryset=None, required=False, widget=StationSelect, empty_label=_("Whole line")
    )
    occurred_at = forms.DateTimeField(
        label=_("Occurred at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    title = forms.CharField(
        label=_("Short title"),
        max_length=140,
        widget=forms.TextInput(attrs={"placeholder": _("What is wrong, where? e.g. burr on flange, station 3")}),
    )
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    kind = forms.ChoiceField(label=_("QC / QE"), choices=Kind.choices, initial=Kind.QC, widget=forms.RadioSelect)
    cause_family = forms.ChoiceField(
        label=_("Cause family"), choices=[("", _("Not known yet")), *CauseFamily.choices], required=False
    )
    # Optional so a shift leader in a hurry (and older line systems posting the form) can skip it.
    source = forms.ChoiceField(label=_("Found at"), choices=Source.choices, initial=Source.LINE, required=False)
    failure_mode = forms.CharField(
        label=_("Failure mode"),
        max_length=120,
        required=False,
        widget=forms.TextInput(attrs={"list": "failure-modes", "autocomplete": "off"}),
        help_text=_("Pick from the plant's list or type a new one."),
    )
    photos = MultiplePhotoField(label=_("Photos"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        lines = (
            visible_lines(user, "issues.add_problem")
            .filter(active=True)
            .order_by("workshop__plant__code", "workshop__code", "code")
        )
        self.fields["line"].queryset = lines
        self.fields["shift"].queryset = Shift.objects.filter(plant__workshops__lines__in=lines).distinct()
        self.fields["station"].queryset = Station.objects.filter(line__in=lines).order_by("line_id", "code")
        self.facts: dict = {}
        self.fact_errors: dict = {}
        self.processed_photos: list[tuple[str, bytes]] = []
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)
            self.initial.setdefault("category", Category.QUALITY)

    # Facts are not Django fields: their names are the API's names and repeat across
    # categories (maintenance_missed), so they are read straight from the submitted data.
    def submitted_facts(self) -> dict:
        category = self.data.get("category", "")
        return {fact.name: self.data.get(fact.name, "") for fact in FACTS.get(category, ())}

    def fact_groups(self) -> list[dict]:
        chosen = self.data.get("category") if self.is_bound else self.initial.get("category")
        groups = []
        for category, label in Category.choices:
            rows = []
            for fact in FACTS[category]:
                value = self.data.get(fact.name, "") if self.is_bound and category == chosen else ""
                rows.append(
                    {
                        "fact": fact,
                        "value": value,
                        "input_id": f"fact-{category}-{fact.name}",
                        "errors": self.fact_errors.get(fact.name, []) if category == chosen else [],
                    }
                )
            more = [row for row in rows if not row["fact"].common]
            groups.append(
                {
                    "category": category,
                    "label": label,
                    "rows": [row for row in rows if row["fact"].common],
                    "more": more,
                    "more_open": any(row["value"] or row["errors"] for row in more),
                    "active": category == chosen,
                }
            )
        return groups

    def clean_occurred_at(self):
        value = self.cleaned_data["occurred_at"]
        validate_occurred_at(value, timezone.now())
        return value

    def clean_photos(self):
        """Resize each photo now; the good ones survive even when another field fails, so the
        re-rendered form keeps them (`processed_photos`)."""
        photos = self.cleaned_data.get("photos") or []
        if len(photos) + len(self.data.getlist("staged_photo")) > settings.QRQC_PHOTO_MAX_COUNT:
            raise ValidationError(_("At most %(count)d photos per problem.") % {"count": settings.QRQC_PHOTO_MAX_COUNT})
        errors = []
        for upload in photos:
            try:
                self.processed_photos.append((upload.name, resized_jpeg(upload)))
            except ValidationError as exc:
                errors.extend(exc.messages)
        if errors:
            raise ValidationError(errors)
        return photos

    def clean(self):
        cleaned = super().clean()
        category = cleaned.get("category")
        if category:
            self.facts, self.fact_errors = clean_facts(category, self.submitted_facts())
            if self.fact_errors:
                self.add_error(None, _("Check the highlighted facts."))
        shift, line = cleaned.get("shift"), cleaned.get("line")
        if shift and line and shift.plant_id != line.workshop.plant_id:
            self.add_error("shift", _("This shift belongs to another plant."))
        station = cleaned.get("station")
        if station and line and station.line_id != line.pk:
            self.add_error("station", _("This station is not on the chosen line."))
        return cleaned

    def refuse_spent_key(self, number: str) -> None:
        """This form's key already logged another problem (the form was sent, then changed and sent
        again): say so, and give it a new key, so that sending it once more logs a new problem."""
        self.data = self.data.copy()
        self.data["idempotency_key"] = uuid.uuid4().hex
        self.add_error(
            None,
            _(
                "This form already logged %(number)s with other values, so nothing was saved now. "
                "Send it again to log these values as a new problem."
            )
            % {"number": number},
        )

    def to_report(self, *, create_failure_mode: bool = True) -> Report:
        data = self.cleaned_data
        line = data["line"]
        return Report(
            line=line,
            category=data["category"],
            title=data["title"].strip(),
            occurred_at=data["occurred_at"],
            facts=self.facts,
            description=data["description"].strip(),
            shift=data["shift"],
            station=data["station"],
            kind=data["kind"],
            cause_family=data["cause_family"],
            failure_mode=failure_mode_named(
                line.workshop.plant, data["failure_mode"], data["category"], create=create_failure_mode
            ),
            source=data["source"] or Source.LINE,
        )


# --- The problem lifecycle on the problem page (issues/problems/lifecycle_views.py) -----------------


class AssignOwnerForm(forms.Form):
    """The chair names an owner from the plant's people and a closure date."""

    owner = PersonField(label=_("Owner"))
    due_date = forms.DateField(label=_("Closure due"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, people, today, current_due=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = people
        self.today, self.current_due = today, current_due

    def clean_due_date(self):
        due = self.cleaned_data["due_date"]
        # An overdue date may stay as it is when only the owner changes; a new one must be ahead.
        if due < self.today and due != self.current_due:
            raise ValidationError(
                _("The closure date cannot be before today (%(today)s)."), params={"today": self.today.isoformat()}
            )
        return due


class NoteForm(forms.Form):
    """One text under its label: a cause note, what a failed verification found, why a problem
    or an 8D section reopens, why a section is returned, a reviewer's note (optional)."""

    text = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, label, required: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["text"].label = label
        self.fields["text"].required = required


DOCUMENT_CHOICES = [(UPDATED, _("Updated")), (NOT_APPLICABLE, _("Not applicable"))]


class CloseForm(forms.Form):
    """Closing: the cause note where the grade needs no 8D, and the D7 document checklist where
    no 8D report gives it. Field names are D7's, so issues.eightd.rules.checklist_from reads both."""

    def __init__(self, *args, with_cause: bool, with_checklist: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.with_checklist = with_checklist
        if with_cause:
            self.fields["cause_note"] = forms.CharField(
                label=_("Cause"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
            )
        if with_checklist:
            for item in CHECKLIST:
                # Not required: checklist_errors gives the one message for a missing choice.
                self.fields[f"{item}_status"] = forms.ChoiceField(
                    label=DOCUMENTS[item], choices=DOCUMENT_CHOICES, required=False, widget=forms.RadioSelect
                )
                self.fields[f"{item}_reference"] = forms.CharField(
                    label=_("Reference and revision"), max_length=120, required=False
                )
                self.fields[f"{item}_reason"] = forms.CharField(
                    label=_("Why not applicable"), max_length=300, required=False
                )

    def checklist(self) -> dict[str, dict] | None:
        """The checklist as entered (raw values on a form with errors)."""
        if not self.with_checklist:
            return None
        names = [name for name in self.fields if name.startswith(CHECKLIST)]
        values = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return checklist_from({name: values.get(name, self[name].value()) for name in names})

    def rows(self) -> list[dict]:
        """One row per document, with its three fields and its error."""
        return [
            {
                "label": DOCUMENTS[item],
                "status": self[f"{item}_status"],
                "reference": self[f"{item}_reference"],
                "reason": self[f"{item}_reason"],
                "errors": [
                    *self[f"{item}_status"].errors,
                    *self[f"{item}_reference"].errors,
                    *self[f"{item}_reason"].errors,
                ],
            }
            for item in CHECKLIST
        ]

    def clean(self):
        cleaned = super().clean()
        if self.with_checklist:
            checklist = self.checklist()
            for item, message in checklist_errors(checklist).items():
                # The message goes on the field that is missing, so that input is highlighted.
                missing = {UPDATED: "reference", NOT_APPLICABLE: "reason"}.get(checklist[item]["status"], "status")
                self.add_error(f"{item}_{missing}", message)
        return cleaned


class DuplicateForm(forms.Form):
    """Cancel as a duplicate: the number of the problem that is kept, among those the user sees."""

    number = forms.CharField(label=_("Number of the problem that is kept"), max_length=40)
    reason = forms.CharField(
        label=_("Reason (optional)"), max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, problems, **kwargs):
        super().__init__(*args, **kwargs)
        self.problems = problems

    def clean_number(self):
        kept = self.problems.filter(number__iexact=self.cleaned_data["number"]).first()
        if kept is None:
            raise ValidationError(_("No problem with this number that you can see."))
        return kept
