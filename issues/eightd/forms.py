"""The 8D report's small forms: its header, a reason or a note with a decision, an attachment.
What each section asks is issues.eightd.sections."""

from __future__ import annotations

from functools import partial

from django import forms
from django.utils.translation import gettext_lazy

from issues.eightd.attachments import ACCEPT
from issues.models import EightDReport
from issues.problems.forms import NoteForm


class HeaderForm(forms.ModelForm):
    class Meta:
        model = EightDReport
        fields = ["customer", "part_number", "part_name"]


ReasonForm = partial(NoteForm, label=gettext_lazy("Reason"))
OptionalNoteForm = partial(NoteForm, label=gettext_lazy("Note (optional)"), required=False)


class AttachmentForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("File"), widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}))
    caption = forms.CharField(label=gettext_lazy("Caption"), max_length=200, required=False)
