#!/usr/bin/env python
"""Time and size of a 10-page 8D PDF with 12 photos (issue #4). Target: under 1 s.

A standalone script, not part of the test suite, and no database: the renderer
(issues.eightd.printout.render_eightd) is a pure function of plain data, so the script builds that
data in memory:

    .venv/bin/python bench/eightd_pdf.py [--runs 5] [--language both] [--keep report.pdf]

The data is a full 8D as a plant writes it: every section answered, bilingual typed text
(long answers in D2 and D4), action tables of 10 rows in D0, D3, D5, D6, 5-why chains, the
D7 checklist, three sign-offs, and 12 photos of 1600×1200 px (the upload limit,
QRQC_PHOTO_MAX_EDGE) written as JPEG files, as they are stored, with enough detail that they
weigh what a phone photo weighs after the upload's re-encoding. The first render also loads
the CJK font (once per process) and is shown apart; the median and max are over the other runs.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PHOTOS = 12
PHOTO_SIZE = (1600, 1200)
SEED = 20250304
TARGET_MS = 1000

SENTENCES = [
    "Burr on the housing flange, found at the end-of-line check.",
    "壳体法兰边缘毛刺超差，终检发现。",
    "The deburring tool had run 40 % past its planned life.",
    "刀具寿命计数器未安装，换刀依赖操作工经验。",
    "Parts of the same batch were sorted at the warehouse and at the customer.",
    "仓库及客户处同批次零件已全部挑选。",
    "No edge check was planned at final inspection, so the burr escaped.",
    "终检作业指导书中没有边缘检查项目。",
]


def prose(rng: random.Random, sentences: int) -> str:
    return " ".join(rng.choice(SENTENCES) for _ in range(sentences))


def photo_files(folder: Path, rng: random.Random) -> list[str]:
    """JPEGs with gradients, noise and shapes: they compress like photos, not like flat colour."""
    from PIL import Image, ImageDraw, ImageFilter

    paths = []
    width, height = PHOTO_SIZE
    for index in range(PHOTOS):
        base = Image.linear_gradient("L").resize(PHOTO_SIZE).rotate(rng.randint(0, 359))
        noise = Image.effect_noise(PHOTO_SIZE, 40).filter(ImageFilter.GaussianBlur(1))
        image = Image.merge("RGB", (base, noise, Image.blend(base, noise, 0.5)))
        draw = ImageDraw.Draw(image)
        for _ in range(25):
            x, y = rng.randrange(width), rng.randrange(height)
            colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
            draw.ellipse((x, y, x + rng.randint(40, 300), y + rng.randint(40, 300)), outline=colour, width=6)
        path = folder / f"photo-{index:02d}.jpg"
        image.save(path, format="JPEG", quality=82, optimize=True)
        paths.append(str(path))
    return paths


def print_data(photos: list[str], language: str, rng: random.Random):
    from issues.eightd.printout import EightDPrint, Grid, Photo, Row, SectionPrint, Signature, text_in
    from issues.eightd.sections import FORMS, TABLE_LABELS
    from issues.models import SectionCode

    def label(field) -> str:
        return text_in(field.label, language)

    def table(code: str, name: str, count: int, cell) -> Grid:
        fields = FORMS[code].tables[name].base_fields
        return Grid(
            title=text_in(TABLE_LABELS[name], language),
            columns=tuple(label(field) for field in fields.values()),
            rows=tuple(tuple(cell(field_name, number) for field_name in fields) for number in range(count)),
        )

    def cell(field_name: str, number: int) -> str:
        if field_name in {"owner", "person"}:
            return rng.choice(["王伟 Wang Wei", "李娜 Li Na", "Zhang Min", "陈静"])
        if field_name.endswith("_on"):
            return f"2025-03-{4 + number % 20:02d}"
        if field_name.startswith("quantity"):
            return str(rng.randint(0, 500))
        if field_name in {"action", "evidence", "cause", "why", "is_case", "is_not_case", "target"}:
            return prose(rng, rng.randint(1, 3))
        return rng.choice(["Done / 完成", "Effective / 有效", "Warehouse / 仓库", "Occurrence / 发生"])

    sections = []
    for index, code in enumerate(FORMS):
        form = FORMS[code]
        long = code in {"D2", "D4"}
        rows = tuple(
            Row(label(field), prose(rng, rng.randint(5, 9) if long else rng.randint(1, 3)))
            for name, field in form.base_fields.items()
            if not name.endswith(("_reference", "_reason"))
        )
        grids = tuple(
            table(code, name, 10 if name == "actions" else 5, cell) for name in form.tables if name != "signoffs"
        )
        sections.append(
            SectionPrint(
                code=code,
                title=text_in(SectionCode(code).label, language),
                state="Accepted / 已接受",
                due_on="2025-03-05",
                accepted_on=f"2025-03-{5 + index:02d}",
                rows=rows,
                grids=grids,
                photos=tuple(
                    Photo(path, f"照片 {number + 1}: {prose(rng, 1)}")
                    for number, path in enumerate(photos)
                    if (code == "D2" and number < 6)
                    or (code == "D3" and 6 <= number < 9)
                    or (code == "D6" and number >= 9)
                ),
                documents=("PFMEA-12 rev C.xlsx", "控制计划 CP-7.pdf") if code == "D7" else (),
            )
        )
    header = tuple(
        Row(text_in(name, language), value)
        for name, value in [
            ("customer", "上汽大众 SAIC Volkswagen"),
            ("number", "SZ1-20250304-007"),
            ("part number", "4711-A"),
            ("part name", "壳体 Housing"),
            ("title", "壳体毛刺超差 Burr on housing flange"),
            ("grade", "A"),
            ("plant", "Suzhou 1 / 苏州一厂"),
            ("workshop", "Machining / 机加车间"),
            ("line", "Machining 1 / 机加一线"),
            ("occurred at", "2025-03-04 09:00"),
            ("started at", "2025-03-04"),
            ("team leader", "王伟 Wang Wei"),
            ("status", "Verifying / 效果验证中"),
            ("closure due", "2025-03-31"),
        ]
    )
    signatures = tuple(
        Signature(name, function, "2025-03-28")
        for name, function in [
            ("王伟 Wang Wei", "8D leader"),
            ("李娜 Li Na", "Quality manager"),
            ("陈静", "Plant manager"),
        ]
    )
    return EightDPrint("SZ1-20250304-007", header, tuple(sections), signatures, "2025-03-28")


def page_count(pdf: bytes) -> int:
    try:
        from pypdf import PdfReader
    except ImportError:
        # reportlab writes no object streams: every page object is visible in the file.
        return len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))
    return len(PdfReader(io.BytesIO(pdf)).pages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed renders after the first (font-loading) one")
    parser.add_argument("--language", default="both", choices=["en", "zh-hans", "both"])
    parser.add_argument("--keep", type=Path, help="write the PDF here to look at it")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_ENV", "test")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qrqc_site.settings")
    import django
    import reportlab

    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    django.setup()  # settings (the font's path) and translations; no database is opened

    from django.conf import settings

    from issues.eightd.printout import render_eightd

    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="qrqc-bench-pdf-") as folder:
        photos = photo_files(Path(folder), rng)
        photo_kb = sum(os.path.getsize(path) for path in photos) / 1024
        data = print_data(photos, args.language, rng)
        print(
            f"Python {platform.python_version()} · reportlab {reportlab.Version} · {os.cpu_count()} CPUs"
            f" · font {settings.QRQC_PDF_FONT}"
        )
        print(
            f"{PHOTOS} photos {PHOTO_SIZE[0]}×{PHOTO_SIZE[1]} JPEG ({photo_kb:.0f} KB together) · "
            f"{sum(len(s.rows) for s in data.sections)} answer fields · "
            f"{sum(len(g.rows) for s in data.sections for g in s.grids)} table rows · language {args.language}"
        )
        started = time.perf_counter()
        pdf = render_eightd(data, args.language)
        first_ms = (time.perf_counter() - started) * 1000
        times, cpu_times = [], []
        for _ in range(args.runs):
            started, cpu_started = time.perf_counter(), time.process_time()
            pdf = render_eightd(data, args.language)
            times.append((time.perf_counter() - started) * 1000)
            cpu_times.append((time.process_time() - cpu_started) * 1000)
    if args.keep:
        args.keep.write_bytes(pdf)
    pages = page_count(pdf)
    median, worst = statistics.median(times), max(times)
    print()
    header = (
        f"{'pages':>6} {'size KB':>8} {'first ms':>9} {'median ms':>10} {'max ms':>8} {'CPU ms med':>11} {'load 1m':>8}"
    )
    print(header)
    print("-" * len(header))
    print(
        f"{pages:>6} {len(pdf) / 1024:>8.0f} {first_ms:>9.0f} {median:>10.0f} {worst:>8.0f}"
        f" {statistics.median(cpu_times):>11.0f} {os.getloadavg()[0]:>8.2f}"
    )
    print(
        f"\nfirst = the first render, which also registers the CJK font (once per process) · "
        f"median/max over {args.runs} more renders\nCPU ms = this process's CPU time per render; "
        f"load 1m above ~2 (2 cores) means the wall times include waiting for a CPU"
        f"\ntarget: median under {TARGET_MS} ms · {'met' if median < TARGET_MS else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
