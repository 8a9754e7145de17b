"""The printouts' CJK font (issues/common/pdf_font.py, issue #11): it comes with requirements.txt (the
paperang-p2-fonts-cjk package) rather than from a Debian package, QRQC_PDF_FONT still chooses
another, a file that cannot print Chinese is refused with a message that says what to fix, and
the web charts fall back to reportlab's built-in CJK metrics instead of failing."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
import reportlab
from django.utils import translation

from issues.common import pdf_font
from issues.common.pdf_font import FontUnavailable, chart_font, printout_font
from issues.eightd.printout import EightDPrint, Row, SectionPrint, render_eightd

ROOT = Path(__file__).resolve().parent.parent.parent
PACKAGED = str(resources.files("paperang_p2_fonts_cjk") / "fonts/wqy-microhei.ttc")
LATIN_ONLY = str(Path(reportlab.__file__).parent / "fonts" / "Vera.ttf")  # Bitstream Vera: no Chinese
CHINESE = "壳体毛刺超差"


def settings_in_a_fresh_process(code: str, *, before: str = "", **env: str) -> subprocess.CompletedProcess:
    """`code` run after Django set-up in a new interpreter, with the environment of a developer
    who configured nothing (no QRQC_ or DJANGO_ variables) plus `env`; `before` runs first."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "QRQC_"))}
    clean.update(DJANGO_ENV="development", DJANGO_SETTINGS_MODULE="qrqc_site.settings", **env)
    program = f"{before}\nimport django\ndjango.setup()\n{code}"
    return subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def run(*command: str) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def a_printout() -> bytes:
    section = SectionPrint("D2", "问题描述", "已接受", "2026-03-04", "2026-03-05", rows=(Row("现象", CHINESE),))
    data = EightDPrint("SZ1-20260304-001", (Row("客户", "上汽大众"),), (section,), (), "2026-03-06")
    with translation.override("zh-hans"):
        return render_eightd(data, "zh-hans")


def test_by_default_the_font_is_the_one_the_font_package_installs():
    result = settings_in_a_fresh_process("from django.conf import settings; print(settings.QRQC_PDF_FONT)")

    assert result.stdout.strip() == PACKAGED, result.stderr
    assert Path(PACKAGED).is_file()


def test_qrqc_pdf_font_still_chooses_another_font():
    code = "from django.conf import settings; print(settings.QRQC_PDF_FONT)"
    result = settings_in_a_fresh_process(code, QRQC_PDF_FONT="/srv/fonts/simsun.ttf")

    assert result.stdout.strip() == "/srv/fonts/simsun.ttf", result.stderr


def test_without_the_font_package_the_site_starts_and_the_printout_says_what_to_install():
    # An import hook that makes the package missing, as on a machine where it was never installed.
    hide = (
        "import sys\n"
        "class Missing:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'paperang_p2_fonts_cjk':\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Missing())\n"
    )
    code = (
        "from django.conf import settings\n"
        "print(repr(settings.QRQC_PDF_FONT))\n"
        "from issues.common.pdf_font import FontUnavailable, font_name\n"
        "try:\n"
        "    font_name()\n"
        "except FontUnavailable as exc:\n"
        "    print(exc)\n"
    )
    result = settings_in_a_fresh_process(code, before=hide)

    assert result.returncode == 0, result.stderr
    empty, message = result.stdout.splitlines()
    assert empty == "''"
    assert "paperang-p2-fonts-cjk is not installed" in message and "pip install -r requirements.txt" in message


def test_the_packaged_font_is_embedded_and_its_chinese_reads_back(settings, tmp_path):
    settings.QRQC_PDF_FONT = PACKAGED
    path = tmp_path / "printout.pdf"
    path.write_bytes(a_printout())

    fonts = [line.split() for line in run("pdffonts", str(path)).splitlines()[2:]]
    # name, type (TrueType, or CID TrueType), ..., emb, sub, uni, object, generation
    assert fonts and all("+WenQuanYiMicroHei" in font[0] and "TrueType" in font for font in fonts)
    assert all(font[-5] == "yes" for font in fonts)  # embedded: no boxes on a computer without the font
    assert b"WenQuanYiMicroHei" in path.read_bytes()
    text = run("pdftotext", "-enc", "UTF-8", str(path), "-")
    assert CHINESE in text and "上汽大众" in text and "问题描述" in text


def test_the_packaged_font_is_the_first_face_of_wenquanyi_micro_hei(settings):
    settings.QRQC_PDF_FONT = PACKAGED

    font = printout_font()

    assert font.family == "WenQuanYi Micro Hei"
    assert font.identity.startswith(f"{PACKAGED}:")


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("no-such-font.ttc", "no usable TrueType font"),
        (LATIN_ONLY, "has no Chinese glyphs"),
        ("", "paperang-p2-fonts-cjk is not installed"),
    ],
)
def test_a_font_that_cannot_print_chinese_is_refused_with_what_to_fix(settings, tmp_path, path, reason):
    settings.QRQC_PDF_FONT = str(tmp_path / path) if path.startswith("no-such") else path

    with pytest.raises(FontUnavailable, match=reason):
        printout_font()
    with pytest.raises(FontUnavailable, match="QRQC_PDF_FONT"):
        a_printout()


def test_the_charts_fall_back_to_built_in_metrics_and_log_the_fault_once(settings, tmp_path, caplog):
    settings.QRQC_PDF_FONT = str(tmp_path / "gone.ttc")

    with caplog.at_level("ERROR", logger="issues.common.pdf_font"):
        fonts = [chart_font(), chart_font()]

    assert fonts[0] == fonts[1]
    assert fonts[0].name == pdf_font.FALLBACK and fonts[0].family == ""
    assert [record.levelname for record in caplog.records] == ["ERROR"]
    assert "gone.ttc" in caplog.text and pdf_font.FALLBACK in caplog.text

    settings.QRQC_PDF_FONT = PACKAGED  # the font back: the charts use it again
    assert chart_font().family == "WenQuanYi Micro Hei"
