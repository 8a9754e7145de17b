#!/usr/bin/env python
"""What a photo costs the server on upload (issue #11): time and peak memory of
issues.problems.photos.resized_jpeg, the check and re-encoding every intake photo and 8D photo goes through.

    .venv/bin/python bench/photo_bomb.py [--runs 3]

Cases: a decompression bomb (a 97 KB PNG of 10000×10000, tests/images.py), eight of them as on
one intake form, four at once in threads as from four tablets, and two honest phone photos
(12 MP and 50 MP JPEG). Each case runs in a fresh Python process; its memory is the peak
resident size during the call above the size before it (Linux: VmHWM, reset through
/proc/self/clear_refs). tracemalloc's peak counts only Python's allocations, not Pillow's image
buffers, and is shown for completeness. No database: the function reads only settings.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CASES = {
    "bomb": "one 10000×10000 PNG bomb (97 KB)",
    "eight-bombs": "eight bombs, one intake form",
    "four-at-once": "four bombs at once (threads)",
    "phone-12mp": "a 12 MP phone JPEG (4000×3000)",
    "phone-50mp": "a 50 MP phone JPEG (8160×6120)",
}


class Upload(io.BytesIO):
    """What Django hands the form: a file with a name and a size."""

    def __init__(self, data: bytes, name: str):
        super().__init__(data)
        self.name, self.size = name, len(data)


def phone_jpeg(size: tuple[int, int]) -> bytes:
    """A JPEG with noise, so it weighs and decodes like a photo rather than flat colour."""
    from PIL import Image

    small = Image.effect_noise((size[0] // 8, size[1] // 8), 64).convert("RGB")
    buffer = io.BytesIO()
    small.resize(size, Image.Resampling.BILINEAR).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def write_inputs(folder: Path) -> None:
    """Built here, in the parent process: making a 50 MP test photo costs more memory than
    checking it, and would hide the child's peak."""
    from tests.images import bomb_png

    (folder / "bomb.png").write_bytes(bomb_png())
    (folder / "phone-12mp.jpg").write_bytes(phone_jpeg((4000, 3000)))
    (folder / "phone-50mp.jpg").write_bytes(phone_jpeg((8160, 6120)))


def uploads_for(case: str, folder: Path) -> list[Upload]:
    if case.startswith("phone"):
        return [Upload((folder / f"{case}.jpg").read_bytes(), f"{case}.jpg")]
    count = {"bomb": 1, "eight-bombs": 8, "four-at-once": 4}[case]
    bomb = (folder / "bomb.png").read_bytes()
    return [Upload(bomb, f"bomb-{index}.png") for index in range(count)]


def check(upload: Upload) -> str:
    from django.core.exceptions import ValidationError

    from issues.problems.photos import resized_jpeg

    try:
        return f"accepted, {len(resized_jpeg(upload)) // 1024} KB JPEG"
    except ValidationError as error:
        return "refused: " + " ".join(error.messages)


def status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith(field + ":"))
    return int(line.split()[1])


def reset_peak_rss() -> int:
    """Linux keeps a process's peak resident size (VmHWM); writing 5 to clear_refs resets it to
    the current size, so the peak read after the call is the call's own."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")
    return status_kib("VmRSS")


def run_case(case: str, folder: Path) -> dict:
    """In the child process: the case once, measured."""
    os.environ.setdefault("DJANGO_ENV", "test")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qrqc_site.settings")
    import django

    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    warnings.filterwarnings("ignore", category=Warning, module="PIL")  # the bomb warning, once per run
    django.setup()
    uploads = uploads_for(case, folder)
    check(Upload(phone_jpeg((64, 48)), "warm-up.jpg"))  # imports and codecs loaded before measuring
    rss_before = reset_peak_rss()
    tracemalloc.start()
    started = time.perf_counter()
    if case == "four-at-once":
        outcomes: list[str] = []
        threads = [threading.Thread(target=lambda u=upload: outcomes.append(check(u))) for upload in uploads]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    else:
        outcomes = [check(upload) for upload in uploads]
    seconds = time.perf_counter() - started
    python_peak = tracemalloc.get_traced_memory()[1]
    rss_after = status_kib("VmHWM")
    return {
        "seconds": seconds,
        "rss_mb": (rss_after - rss_before) / 1024,
        "python_mb": python_peak / 2**20,
        "outcome": outcomes[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)  # the child process's part
    parser.add_argument("--inputs", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.inputs)))
        return
    with tempfile.TemporaryDirectory() as folder:
        write_inputs(Path(folder))
        measure(args.runs, Path(folder))


def measure(runs: int, folder: Path) -> None:
    import PIL

    print(f"Python {platform.python_version()} · Pillow {PIL.__version__} · {os.cpu_count()} CPUs · {runs} runs")
    print(f"{'case':42} {'median ms':>10} {'max ms':>8} {'+RSS MB':>8} {'py MB':>6}  outcome")
    for case, label in CASES.items():
        results = []
        for _ in range(runs):
            command = [sys.executable, __file__, "--case", case, "--inputs", str(folder)]
            child = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
            results.append(json.loads(child.stdout.strip().splitlines()[-1]))
        millis = [result["seconds"] * 1000 for result in results]
        print(
            f"{label:42} {statistics.median(millis):10.1f} {max(millis):8.1f}"
            f" {max(result['rss_mb'] for result in results):8.0f} {max(result['python_mb'] for result in results):6.1f}"
            f"  {results[0]['outcome'][:70]}"
        )


if __name__ == "__main__":
    main()
