"""What each 8D section asks (docs/problem-solving.md §The 8D report): a Django form of scalar fields plus named row
tables (formsets). The forms are the schema: the editor renders them, `clean_section` turns a
POST into the JSON stored on Section.content, and the printout reads labels from them.

A draft is saved with whatever is filled (types still checked); submitting needs every
required field, at least one row where a table is the answer, and the cross-field rules."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.forms.formsets import BaseFormSet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from issues.common.people import PersonField
from issues.common.printing import text_in
from issues.eightd.rules import CHECKLIST, DOCUMENTS, NOT_APPLICABLE, UPDATED, checklist_errors, checklist_from
from issues.models import CauseFamily

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.db.models import QuerySet
    from django.http import QueryDict

TEXT = forms.Textarea(attrs={"rows": 3})
SHORT_TEXT = forms.Textarea(attrs={"rows": 2})
DATE = forms.DateInput(attrs={"type": "date"})

YES_NO = [("", "–"), ("yes", _("Yes")), ("no", _("No"))]
YES_NO_NA = [*YES_NO, ("na", _("Not applicable"))]
EFFECTIVE = [
    ("", "–"),
    ("pending", pgettext_lazy("effectiveness", "Pending")),
    ("yes", _("Effective")),
    ("no", _("Not effective")),
]
ACTION_STATUS = [("planned", _("Planned")), ("in_progress", _("In progress")), ("done", _("Done"))]
STOCK_LOCATIONS = [
    ("line", _("On the line")),
    ("wip", _("Work in progress")),
    ("warehouse", _("Warehouse")),
    ("in_transit", _("In transit")),
    ("customer", _("At the customer")),
    ("supplier", _("At the supplier")),
]
CAUSE_SIDES = [("occurrence", _("Why it was made")), ("escape", _("Why it escaped"))]
IS_IS_NOT_DIMENSIONS = [
    ("what", _("What")),
    ("where", _("Where")),
    ("when", _("When")),
    ("how_many", _("How many")),
    ("who", _("Who")),
]


class SectionForm(forms.Form):
    """Base of every section's form. `tables` name the row forms; `min_rows` says which
    tables need a row before the section can be submitted."""

    tables: dict[str, type[forms.Form]] = {}
    min_rows: dict[str, int] = {}

    def __init__(self, *args: Any, people: QuerySet[User] | None = None, complete: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.complete = complete
        set_people(self, people)
        if not complete:
            for field in self.fields.values():
                field.required = False

    def check_complete(self, cleaned: dict[str, Any], tables: dict[str, list[dict[str, Any]]]) -> None:
        """Cross-field rules that only a submitted answer must meet (add_error on self)."""


def set_people(form: forms.Form, people: QuerySet[User] | None) -> None:
    for field in form.fields.values():
        if isinstance(field, PersonField):
            field.queryset = people


def choice_pairs(field: forms.ChoiceField) -> list[tuple[Any, Any]]:
    """A choice field's (value, label) pairs. Django keeps a field's choices normalised to such a
    list (none of these forms takes a callable); django-stubs types them as anything it accepts."""
    return cast("list[tuple[Any, Any]]", field.choices)


class RowForm(forms.Form):
    def __init__(self, *args: Any, people: QuerySet[User] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_people(self, people)
        # A select without a blank choice posts its first choice even from an untouched extra
        # row; with that choice as the starting value the row counts as unchanged and is skipped.
        for field in self.fields.values():
            if type(field) is forms.ChoiceField and field.initial is None and choice_pairs(field)[0][0] != "":
                field.initial = choice_pairs(field)[0][0]


# D0 ---------------------------------------------------------------------------------------
class EmergencyActionRow(RowForm):
    action = forms.CharField(label=_("Action"), max_length=500)
    owner = PersonField(label=_("Owner"), required=False)
    done_on = forms.DateField(label=_("Done on"), required=False, widget=DATE)


class D0Form(SectionForm):
    symptom = forms.CharField(label=_("Symptom as the customer or the line sees it"), widget=TEXT)
    emergency_response = forms.CharField(label=_("Emergency response"), widget=TEXT)
    safety_risk = forms.ChoiceField(label=_("Risk to safety?"), choices=YES_NO)
    customer_informed = forms.ChoiceField(label=_("Customer informed?"), choices=YES_NO_NA)
    tables = {"actions": EmergencyActionRow}


# D1 ---------------------------------------------------------------------------------------
class MemberRow(RowForm):
    person = PersonField(label=_("Person"))
    department = forms.CharField(label=_("Department"), max_length=60, required=False)
    role_in_team = forms.CharField(label=_("Role in the team"), max_length=60, required=False)


class D1Form(SectionForm):
    leader = PersonField(label=pgettext_lazy("8D", "Team leader"))
    champion = PersonField(label=_("Champion (management sponsor)"), required=False)
    tables = {"members": MemberRow}
    min_rows = {"members": 1}


# D2 ---------------------------------------------------------------------------------------
class IsIsNotRow(RowForm):
    dimension = forms.ChoiceField(label=_("Dimension"), choices=IS_IS_NOT_DIMENSIONS)
    is_case = forms.CharField(label=_("Is"), max_length=300)
    is_not_case = forms.CharField(label=_("Is not"), max_length=300, required=False)


class D2Form(SectionForm):
    what = forms.CharField(label=_("What happened (part, defect)"), widget=SHORT_TEXT)
    where = forms.CharField(label=_("Where (line, station, customer)"), widget=SHORT_TEXT)
    when = forms.CharField(label=_("When (date, shift, batch)"), widget=SHORT_TEXT)
    who = forms.CharField(label=_("Who found it"), widget=SHORT_TEXT)
    why = forms.CharField(label=_("Why it is a problem (requirement not met)"), widget=SHORT_TEXT)
    how = forms.CharField(label=_("How it was found"), widget=SHORT_TEXT)
    how_many = forms.CharField(label=_("How many, how often"), widget=SHORT_TEXT)
    quantity_suspect = forms.IntegerField(label=_("Quantity suspect"), min_value=0)
    quantity_defective = forms.IntegerField(label=_("Quantity confirmed defective"), min_value=0)
    tables = {"is_is_not": IsIsNotRow}
    min_rows = {"is_is_not": 1}

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        suspect, defective = cleaned.get("quantity_suspect"), cleaned.get("quantity_defective")
        if suspect is not None and defective is not None and defective > suspect:
            self.add_error("quantity_defective", _("More defective than suspect parts."))
        return cleaned


# D3 ---------------------------------------------------------------------------------------
class ContainmentRow(RowForm):
    action = forms.CharField(label=_("Action"), max_length=500)
    location = forms.ChoiceField(label=_("Where the suspect stock is"), choices=STOCK_LOCATIONS)
    quantity_checked = forms.IntegerField(label=_("Quantity checked"), min_value=0, required=False)
    quantity_bad = forms.IntegerField(label=_("Quantity found bad"), min_value=0, required=False)
    owner = PersonField(label=_("Owner"), required=False)
    done_on = forms.DateField(label=_("Date"), required=False, widget=DATE)
    effective = forms.ChoiceField(label=_("Effective?"), choices=EFFECTIVE, required=False)

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        checked, bad = cleaned.get("quantity_checked"), cleaned.get("quantity_bad")
        if checked is not None and bad is not None and bad > checked:
            self.add_error("quantity_bad", _("More found bad than checked."))
        return cleaned


class D3Form(SectionForm):
    summary = forms.CharField(label=_("Summary"), widget=SHORT_TEXT, required=False)
    tables = {"actions": ContainmentRow}
    min_rows = {"actions": 1}

    def check_complete(self, cleaned: dict[str, Any], tables: dict[str, list[dict[str, Any]]]) -> None:
        for row in tables.get("actions", []):
            if not row.get("owner") or not row.get("done_on") or not row.get("effective"):
                self.add_error(None, _("Every containment action needs an owner, a date and its effectiveness."))
                return


# D4 ---------------------------------------------------------------------------------------
class WhyRow(RowForm):
    why = forms.CharField(label=_("Why?"), max_length=300)


class FishboneRow(RowForm):
    family = forms.ChoiceField(label=_("Cause family"), choices=CauseFamily.choices)
    side = forms.ChoiceField(label=_("Made or escaped"), choices=CAUSE_SIDES)
    cause = forms.CharField(label=_("Possible cause"), max_length=300)
    confirmed = forms.BooleanField(label=_("Confirmed"), required=False)


class D4Form(SectionForm):
    occurrence_cause = forms.CharField(label=_("Root cause: why it was made"), widget=TEXT)
    occurrence_verified = forms.ChoiceField(label=_("Occurrence cause verified?"), choices=YES_NO)
    occurrence_evidence = forms.CharField(label=_("Evidence (occurrence)"), widget=SHORT_TEXT, required=False)
    escape_cause = forms.CharField(label=_("Root cause: why it escaped"), widget=TEXT)
    escape_verified = forms.ChoiceField(label=_("Escape cause verified?"), choices=YES_NO)
    escape_evidence = forms.CharField(label=_("Evidence (escape)"), widget=SHORT_TEXT, required=False)
    tables = {"occurrence_whys": WhyRow, "escape_whys": WhyRow, "fishbone": FishboneRow}
    min_rows = {"occurrence_whys": 1, "escape_whys": 1}

    def check_complete(self, cleaned: dict[str, Any], tables: dict[str, list[dict[str, Any]]]) -> None:
        for side in ("occurrence", "escape"):
            if cleaned.get(f"{side}_verified") == "yes" and not cleaned.get(f"{side}_evidence"):
                self.add_error(f"{side}_evidence", _("A verified cause needs its evidence."))


# D5, D6 -----------------------------------------------------------------------------------
class ChosenActionRow(RowForm):
    action = forms.CharField(label=_("Permanent action"), max_length=500)
    addresses = forms.ChoiceField(label=_("Addresses"), choices=CAUSE_SIDES)
    owner = PersonField(label=_("Owner"))
    due_on = forms.DateField(label=_("Due"), widget=DATE)


class D5Form(SectionForm):
    short_term = forms.CharField(label=_("Short-term action until the permanent one works"), widget=SHORT_TEXT)
    risk = forms.CharField(label=_("Risks of the chosen actions"), widget=SHORT_TEXT, required=False)
    tables = {"actions": ChosenActionRow}
    min_rows = {"actions": 1}


class ImplementedActionRow(RowForm):
    action = forms.CharField(label=_("Action"), max_length=500)
    owner = PersonField(label=_("Owner"))
    due_on = forms.DateField(label=_("Due"), widget=DATE)
    status = forms.ChoiceField(label=_("Status"), choices=ACTION_STATUS)
    done_on = forms.DateField(label=_("Done on"), required=False, widget=DATE)
    evidence = forms.CharField(label=_("Evidence"), max_length=500, required=False)
    validation = forms.ChoiceField(label=_("Validation result"), choices=EFFECTIVE, required=False)


class D6Form(SectionForm):
    validation_summary = forms.CharField(label=_("How the actions were validated"), widget=TEXT)
    tables = {"actions": ImplementedActionRow}
    min_rows = {"actions": 1}

    def check_complete(self, cleaned: dict[str, Any], tables: dict[str, list[dict[str, Any]]]) -> None:
        for row in tables.get("actions", []):
            if row.get("status") != "done" or row.get("validation") != "yes" or not row.get("evidence"):
                self.add_error(None, _("Every action must be done, with evidence, and validated as effective."))
                return


# D7 ---------------------------------------------------------------------------------------
class DeploymentRow(RowForm):
    target = forms.CharField(label=_("Other line or product"), max_length=200)
    action = forms.CharField(label=_("Action"), max_length=500)
    owner = PersonField(label=_("Owner"), required=False)
    status = forms.ChoiceField(label=_("Status"), choices=ACTION_STATUS)


DOCUMENT_STATUS = [("", "–"), (UPDATED, _("Updated")), (NOT_APPLICABLE, _("Not applicable"))]


class D7Base(SectionForm):
    lesson = forms.CharField(label=_("Lesson learned"), widget=TEXT)
    product = forms.CharField(label=_("Product"), max_length=120, required=False)
    tables = {"deployment": DeploymentRow}

    def check_complete(self, cleaned: dict[str, Any], tables: dict[str, list[dict[str, Any]]]) -> None:
        for item, message in checklist_errors(checklist_from(cleaned)).items():
            self.add_error(f"{item}_status", message)


def _checklist_fields() -> dict[str, forms.Field]:
    fields: dict[str, forms.Field] = {}
    for item in CHECKLIST:
        fields[f"{item}_status"] = forms.ChoiceField(label=DOCUMENTS[item], choices=DOCUMENT_STATUS, required=False)
        fields[f"{item}_reference"] = forms.CharField(label=_("Reference and revision"), max_length=120, required=False)
        fields[f"{item}_reason"] = forms.CharField(label=_("Why not applicable"), max_length=300, required=False)
    return fields


# Declared fields (not added in __init__) so the printout and the editor see them in base_fields.
D7Form = type("D7Form", (D7Base,), {"__module__": __name__, **_checklist_fields()})


# D8 ---------------------------------------------------------------------------------------
class SignOffRow(RowForm):
    person = PersonField(label=_("Name"))
    function = forms.CharField(label=_("Function"), max_length=60)
    signed_on = forms.DateField(label=_("Date"), widget=DATE)


class D8Form(SectionForm):
    summary = forms.CharField(label=_("Closure summary"), widget=TEXT)
    recognition = forms.CharField(label=_("Team recognition"), widget=SHORT_TEXT, required=False)
    tables = {"signoffs": SignOffRow}
    min_rows = {"signoffs": 1}


FORMS: dict[str, type[SectionForm]] = {
    "D0": D0Form,
    "D1": D1Form,
    "D2": D2Form,
    "D3": D3Form,
    "D4": D4Form,
    "D5": D5Form,
    "D6": D6Form,
    "D7": D7Form,
    "D8": D8Form,
}
MAX_ROWS = 30


def formset_class(row_form: type[forms.Form]) -> type[BaseFormSet[forms.Form]]:
    return forms.formset_factory(row_form, extra=1, can_delete=True, max_num=MAX_ROWS, validate_max=True)


def to_json(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "pk"):
        return value.pk
    return value


def build(
    code: str,
    *,
    data: QueryDict | None = None,
    content: dict | None = None,
    people: QuerySet[User] | None = None,
    complete: bool = False,
) -> tuple[SectionForm, dict[str, BaseFormSet[forms.Form]]]:
    """(form, {table: formset}) bound to a POST (`data`) or filled from stored `content`."""
    form_class = FORMS[code]
    content = content or {}
    scalar_initial = {name: value for name, value in content.items() if name not in form_class.tables}
    form = form_class(data, initial=scalar_initial, people=people, complete=complete, prefix="s")
    formsets = {
        name: formset_class(row)(
            data,
            initial=content.get(name) or [],
            prefix=name,
            form_kwargs={"people": people},
        )
        for name, row in form_class.tables.items()
    }
    return form, formsets


def clean_section(
    code: str, data: QueryDict, *, people: QuerySet[User] | None, complete: bool
) -> tuple[dict[str, Any] | None, SectionForm, dict[str, BaseFormSet[forms.Form]]]:
    """(content, form, formsets): content is None when the answer has errors."""
    form, formsets = build(code, data=data, people=people, complete=complete)
    valid = form.is_valid()
    valid = all([formset.is_valid() for formset in formsets.values()]) and valid
    if not valid:
        return None, form, formsets
    tables = {
        name: [
            {key: to_json(value) for key, value in row.cleaned_data.items() if key != "DELETE"}
            for row in formset.forms
            if row.cleaned_data and not row.cleaned_data.get("DELETE")
        ]
        for name, formset in formsets.items()
    }
    scalars = {name: to_json(value) for name, value in form.cleaned_data.items()}
    if complete:
        for name, minimum in form.min_rows.items():
            if len(tables.get(name, [])) < minimum:
                form.add_error(None, _("Add at least one row to “%(table)s”.") % {"table": table_label(code, name)})
        form.check_complete(scalars, tables)
        if form.errors:
            return None, form, formsets
    return {**scalars, **tables}, form, formsets


TABLE_LABELS = {
    "actions": _("Actions"),
    "members": _("Team members"),
    "is_is_not": _("Is / is not"),
    "occurrence_whys": _("5 whys: why it was made"),
    "escape_whys": _("5 whys: why it escaped"),
    "fishbone": _("Fishbone"),
    "deployment": _("Horizontal deployment"),
    "signoffs": _("Sign-offs"),
}


def table_label(code: str, name: str) -> str:
    return str(TABLE_LABELS.get(name, name))


def people_ids(code: str, content: dict) -> set[int]:
    """Every person an answer names (to show names without a query per cell)."""
    form_class = FORMS[code]
    found = set()
    for name, field in form_class.base_fields.items():
        if isinstance(field, PersonField) and isinstance(content.get(name), int):
            found.add(content[name])
    for table, row_form in form_class.tables.items():
        person_columns = [name for name, field in row_form.base_fields.items() if isinstance(field, PersonField)]
        for row in content.get(table) or []:
            found.update(row[column] for column in person_columns if isinstance(row.get(column), int))
    return found


def answer_text(field: forms.Field, value: Any, names: dict[int, str], language: str | None = None) -> str:
    """A stored answer value as a reader sees it: people by name (`names`, by user id), yes/no and
    choices by label, dates as YYYY-MM-DD; "" when unanswered. `language`: "en", "zh-hans" or
    "both" (printouts); None: the active language (pages)."""
    if value is None or value == "" or value == []:
        return ""
    if isinstance(field, PersonField):  # before ChoiceField: it is one
        return names.get(value, f"#{value}")
    label: Any = None
    if isinstance(field, forms.BooleanField):
        label = _("Yes") if value else _("No")
    elif isinstance(field, forms.ChoiceField):
        label = dict(choice_pairs(field)).get(value)
    elif isinstance(field, forms.DateField):
        return iso_date(value)
    if label is None:
        return str(value)
    return str(label) if language is None else text_in(label, language)


def iso_date(value: Any) -> str:
    """A stored date (ISO text in an answer, or a date) as YYYY-MM-DD; anything else as it is."""
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        return str(value)
