"""The containment form on the problem page: an effective temporary action stops the clock."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class ContainmentForm(forms.Form):
    action = forms.CharField(
        label=_("What was done"),
        max_length=2000,
        error_messages={"required": _("Say what was done.")},
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": _("e.g. suspect parts quarantined, full check at station 3")}
        ),
    )
    done_by = forms.CharField(label=_("By whom"), max_length=120, error_messages={"required": _("Say who did it.")})
    quantity_secured = forms.IntegerField(
        label=_("Quantity secured"),
        min_value=0,
        max_value=10_000_000,
        help_text=_("Parts held, sorted or quarantined; 0 if none."),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
