"""Security headers (issue #11): a Content-Security-Policy that needs no inline script or style
on any page, a Permissions-Policy that keeps only the camera (intake photos) and full screen
(TV board), and the API schema and docs behind the login in production. The pages themselves
are checked in Chromium (tests/browser/test_csp_in_browser.py)."""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from issues.qchart import charts as qchart
from tests.test_settings import PRODUCTION, run_manage

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def policy(response) -> dict[str, list[str]]:
    directives = {}
    for directive in response["Content-Security-Policy"].split(";"):
        name, *sources = directive.split()
        directives[name] = sources
    return directives


@pytest.fixture
def signed_in(team_leader) -> Client:
    client = Client()
    client.force_login(team_leader)
    return client


@pytest.mark.parametrize("path", ["/", "/problems/new/", "/board/", "/qchart/", "/meetings/", "/admin/login/"])
def test_html_pages_carry_a_policy_without_inline_script_or_style(signed_in, path):
    response = signed_in.get(path, follow=True)

    assert response.status_code == 200
    directives = policy(response)
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["img-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]
    assert directives["base-uri"] == ["'self'"]
    # The one exception: the history pages' style="border-top: 0", allowed by its hash alone.
    assert directives["style-src-attr"] == ["'unsafe-hashes'", "'sha256-XMXSevYjgSjXgRafBFDvtjwX+yyWLrxfso9DcNZ9UXM='"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]


def test_the_login_page_carries_both_headers(client, db):
    response = client.get("/login/")

    assert policy(response)["script-src"] == ["'self'"]
    features = dict(item.split("=", 1) for item in response["Permissions-Policy"].split(", "))
    assert features["camera"] == "(self)"  # the intake form takes photos with the tablet's camera
    assert features["fullscreen"] == "(self)"  # the board's TV mode
    for feature in ("microphone", "geolocation", "payment", "usb", "serial", "bluetooth"):
        assert features[feature] == "()"


def test_only_the_api_docs_page_may_show_data_images(signed_in):
    assert policy(signed_in.get("/api/v1/docs/"))["img-src"] == ["'self'", "data:"]


INLINE = [
    (re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"<style", re.I), "an inline <style>"),
    (re.compile(r"\sstyle=", re.I), "a style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an on* event handler"),
    (re.compile(r"\shx-on", re.I), "an hx-on handler (htmx would eval it)"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
    (re.compile(r'hx-trigger="[^"]*\['), "an hx-trigger filter (htmx would eval it)"),
]


@pytest.mark.parametrize(
    "template", sorted(TEMPLATES.rglob("*.html")), ids=lambda path: str(path.relative_to(TEMPLATES))
)
def test_no_template_needs_inline_script_or_style(template):
    text = template.read_text(encoding="utf-8")
    text = re.sub(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}|{#.*?#}", "", text, flags=re.S)
    found = [what for pattern, what in INLINE if pattern.search(text)]
    assert found == []


@pytest.mark.parametrize(
    ("svg", "expected"),
    [
        (
            '<rect x="0" style="stroke: rgb(0%,0%,0%); stroke-width: 1; fill: none; fill-rule: evenodd;"/>',
            '<rect x="0" stroke="rgb(0%,0%,0%)" stroke-width="1" fill="none" fill-rule="evenodd"/>',
        ),
        (
            '<text style="font-family: WQY, WenQuanYi Zen Hei, sans-serif; font-size: 10px;fill: rgb(0%,0%,0%); stroke:none;">',
            '<text font-family="WQY, WenQuanYi Zen Hei, sans-serif" font-size="10px" fill="rgb(0%,0%,0%)" stroke="none">',
        ),
        ('<g style="clip-path: url(#q-clip)">', '<g clip-path="url(#q-clip)">'),
        # Something a presentation attribute cannot say is left alone (the browser test reports it).
        ('<g style="display: none">', '<g style="display: none">'),
    ],
)
def test_chart_styles_become_presentation_attributes(svg, expected):
    assert qchart.style_as_attributes(svg) == expected


def test_the_q_chart_svg_has_no_style_attribute_and_stays_well_formed():
    months = [(2026, month) for month in range(1, 13)]
    drawings = [
        qchart.monthly_bars(months, {(2026, 3): {"A": 2, "B": 1, "C": 4}}, "每月问题", qchart.SCREEN),
        qchart.pareto_chart(qchart.pareto({"毛刺": 5, "泄漏": 2}), "失效模式", qchart.SCREEN),
        qchart.pareto_chart([], "类别", qchart.SCREEN, empty="无"),
    ]
    for number, drawing in enumerate(drawings):
        svg = qchart.inline_svg(drawing, f"chart{number}", "图")
        assert " style=" not in svg
        ElementTree.fromstring(svg)  # no attribute twice


# --- the API schema and docs in production ------------------------------------------------


@pytest.fixture
def production(settings):
    settings.IS_PRODUCTION = True


def test_in_production_the_schema_needs_a_signed_in_reader(client, production, team_leader):
    assert client.get("/api/v1/schema/").status_code in (401, 403)

    token = Token.objects.create(user=team_leader)
    assert client.get("/api/v1/schema/", HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 200
    client.force_login(team_leader)
    assert client.get("/api/v1/schema/").status_code == 200


def test_in_production_the_docs_page_sends_a_stranger_to_the_login_and_back(client, production, team_leader):
    response = client.get("/api/v1/docs/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/api/v1/docs/"
    assert client.get("/api/v1/docs/?script=").status_code == 302
    client.force_login(team_leader)
    assert client.get("/api/v1/docs/").status_code == 200
    assert client.get("/api/v1/docs/?script=").status_code == 200


def test_outside_production_the_schema_stays_open_for_integrators(client, db):
    assert client.get("/api/v1/schema/").status_code == 200
    assert client.get("/api/v1/docs/").status_code == 200


# --- settings that would only fail at the first request are refused at start-up ------------


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"QRQC_API_RATE_USER": "lots"}, "QRQC_API_RATE_USER must be a rate such as 120/minute"),
        ({"QRQC_API_RATE_ANON": "0/minute"}, "QRQC_API_RATE_ANON must be a rate such as 120/minute"),
        ({"QRQC_LOGIN_FAILURE_LIMIT": "0"}, "QRQC_LOGIN_FAILURE_LIMIT and QRQC_LOGIN_LOCKOUT_MINUTES must be positive"),
        ({"QRQC_LOGIN_LOCKOUT_MINUTES": "-5"}, "must be positive"),
        ({"QRQC_TRUSTED_PROXIES": "-1"}, "QRQC_TRUSTED_PROXIES must be 0 or more"),
    ],
)
def test_a_malformed_throttle_or_lockout_setting_is_refused_with_its_name(env, message):
    result = run_manage("check", **PRODUCTION, **env)

    assert result.returncode != 0
    assert message in result.stderr
