"""Every user-facing string has a Simplified Chinese translation, and the compiled catalogue
that ships with the repository matches the source."""

import gettext
import re
from pathlib import Path

LOCALE = Path(__file__).resolve().parent.parent / "locale" / "zh_Hans" / "LC_MESSAGES"


def po_entries() -> list[dict]:
    entries = []
    for block in (LOCALE / "django.po").read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, str] = {}
        current = None
        for line in block.splitlines():
            if line.startswith("#,"):
                fields["flags"] = line
                continue
            if line.startswith("#"):
                continue
            match = re.match(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d\])?) "(.*)"$', line)
            if match:
                current = match.group(1)
                fields[current] = match.group(2)
            elif line.startswith('"') and current:
                fields[current] += line[1:-1]
        if fields.get("msgid"):
            entries.append(fields)
    return entries


def unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda match: {"n": "\n", "t": "\t"}.get(match.group(1), match.group(1)), text)


def test_every_message_is_translated_and_none_is_fuzzy():
    entries = po_entries()
    assert len(entries) > 200
    untranslated = [entry["msgid"] for entry in entries if not (entry.get("msgstr") or entry.get("msgstr[0]"))]
    fuzzy = [entry["msgid"] for entry in entries if "fuzzy" in entry.get("flags", "")]
    assert untranslated == []
    assert fuzzy == []


def translated(catalogue: gettext.GNUTranslations, entry: dict) -> str:
    if "msgctxt" in entry:
        return catalogue.pgettext(unescape(entry["msgctxt"]), unescape(entry["msgid"]))
    return catalogue.gettext(unescape(entry["msgid"]))


def test_the_compiled_catalogue_matches_the_source():
    with (LOCALE / "django.mo").open("rb") as handle:
        catalogue = gettext.GNUTranslations(handle)
    stale = [
        entry["msgid"]
        for entry in po_entries()
        if "msgstr" in entry and translated(catalogue, entry) != unescape(entry["msgstr"])
    ]
    assert stale == []


def test_pages_follow_the_browser_language(client, team_leader):
    client.force_login(team_leader)
    chinese = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    english = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "记录问题" in chinese and 'lang="zh-CN"' in chinese
    assert "Log a problem" in english and "记录问题" not in english


def test_the_switch_in_the_page_sets_the_language_and_remembers_it_on_the_profile(client, team_leader):
    client.force_login(team_leader)
    response = client.post("/language/", {"language": "zh-hans", "next": "/problems/"})
    assert response.status_code == 302
    assert "问题清单" in client.get("/problems/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    team_leader.profile.refresh_from_db()
    assert team_leader.profile.language == "zh-hans"


def test_logging_in_applies_the_language_the_person_chose_before(client, team_leader):
    team_leader.profile.language = "zh-hans"
    team_leader.profile.save()
    client.post("/login/", {"username": team_leader.username, "password": "pw-for-tests-only"})
    assert "记录问题" in client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
