"""The person page in the admin: profile and roles on one page, groups kept in step."""

from django.urls import reverse

from issues.common.scope import scope_of
from issues.models import Role


def current_form_data(client, url: str) -> dict:
    """What the browser would POST back unchanged: the main form and every inline formset."""
    response = client.get(url)
    assert response.status_code == 200
    data = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS"):
            data[management.add_prefix(name)] = management[name].value()
        forms += inline.formset.forms
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is None or value is False:
                continue
            widget = form.fields[name].widget
            if hasattr(widget, "widgets"):  # split date and time: one POST value per sub-widget
                parts = widget.decompress(value)
                for index, (part, sub) in enumerate(zip(parts, widget.widgets, strict=True)):
                    data[f"{form.add_prefix(name)}_{index}"] = sub.format_value(part) if part else ""
                continue
            if isinstance(value, list):
                data[form.add_prefix(name)] = [str(item) for item in value]
            else:
                data[form.add_prefix(name)] = "on" if value is True else str(value)
    return data


def test_giving_a_role_on_the_person_page_puts_them_in_the_role_group_and_scope(world, operator, admin_client):
    url = reverse("admin:auth_user_change", args=[operator.pk])
    data = current_form_data(admin_client, url)
    prefix = "role_assignments-1-"
    data.update(
        {
            "role_assignments-TOTAL_FORMS": "2",
            f"{prefix}role": Role.WORKSHOP_DIRECTOR,
            f"{prefix}plant": str(world.plant.pk),
            f"{prefix}workshop": str(world.machining.pk),
        }
    )

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.context["errors"] if response.context else response
    operator.refresh_from_db()
    assert set(operator.groups.values_list("name", flat=True)) == {Role.OPERATOR, Role.WORKSHOP_DIRECTOR}
    scope = scope_of(operator)
    assert world.machining.pk in scope.workshop_ids and world.line_a1.pk in scope.line_ids


def test_removing_the_last_role_takes_the_person_out_of_its_group(world, operator, admin_client):
    url = reverse("admin:auth_user_change", args=[operator.pk])
    data = current_form_data(admin_client, url)
    data["role_assignments-0-DELETE"] = "on"

    assert admin_client.post(url, data).status_code == 302

    operator.refresh_from_db()
    assert not operator.groups.exists()
    assert not operator.has_perm("issues.add_problem")
