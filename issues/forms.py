"""The intake form: what a shift leader fills in at the line (issue #2)."""

from __future__ import annotations

import uuid

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from issues.facts import FACTS, clean_facts
from issues.intake import Report, failure_mode_named, validate_occurred_at
from issues.models import Category, CauseFamily, Kind, Shift, Station
from issues.photos import resized_jpeg
from issues.scope import visible_lines


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
        lines = visible_lines(user).filter(active=True).order_by("workshop__plant__code", "workshop__code", "code")
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
        )
