"""OCR throughput: uploads read by our workers against a bare pytesseract loop, in one run.

    .venv/bin/python bench/ocr.py [--images 24] [--workers 1 2] [--rounds 3]

The same rendered images go through (a) a loop calling pytesseract in this process, single-threaded
like our workers (OMP_THREAD_LIMIT=1), and (b) create_upload() -> `ocr:process` -> `manage.py
rqworker --burst` with 1 and then 2 worker processes. Images per second for (b) count from the first
job's start to the last job's end.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["OMP_THREAD_LIMIT"] = "1"

from bench.harness import (
    bench_env,
    manage,
    median,
    paired_ratio,
    reset_state,
    rq_span,
    run_workers,
    setup_django,
    table,
    write_result,
)

SENTENCES = [
    "The quick brown fox jumps over the lazy dog while five wizards judge the boxing match",
    "Pack my box with five dozen liquor jugs and send the invoice to the accounts department",
    "Sphinx of black quartz judge my vow before the committee meets again on Thursday morning",
    "How vexingly quick daft zebras jump when the orchestra plays a waltz in the summer garden",
]


def render(n: int) -> bytes:
    from tests.images import encode, render_text

    return encode(render_text(" ".join([SENTENCES[n % len(SENTENCES)]] * 3), font_size=28), "PNG")


def bare_loop(images: list[bytes]) -> float:
    import pytesseract
    from PIL import Image

    started = time.perf_counter()
    for data in images:
        pytesseract.image_to_string(Image.open(io.BytesIO(data)), lang="eng")
    return len(images) / (time.perf_counter() - started)


def through_workers(images: list[bytes], workers: int, env: dict[str, str]) -> float:
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile

    from uploads.services import create_upload
    from uploads.validators import validate_image_upload

    owner, _ = get_user_model().objects.get_or_create(username="bench")
    ids = []
    for n, data in enumerate(images):
        file = SimpleUploadedFile(f"page-{n}.png", data)
        ids.append(create_upload(owner=owner, file=file, info=validate_image_upload(file)).ocr_job_id)
    run_workers([manage("rqworker", "--burst", "-v0") for _ in range(workers)], env)
    return len(images) / rq_span(ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--rounds", type=int, default=3, help="runs of each contender; medians are reported")
    args = parser.parse_args()

    env = bench_env("sqlite", OCR_ENABLED="true")
    reset_state(env)
    setup_django(env)
    images = [render(n) for n in range(args.images)]
    counts = sorted(set(args.workers))

    # Rounds alternate the contenders; ratios are taken within each round, then their medians reported.
    bare: list[float] = []
    ours: dict[int, list[float]] = {count: [] for count in counts}
    for _ in range(args.rounds):
        bare.append(bare_loop(images))
        for count in counts:
            ours[count].append(through_workers(images, count, env))

    rows = [("bare pytesseract loop", 1, f"{median(bare):.2f}", "1.00", "")]
    for count in counts:
        vs_one = f"{paired_ratio(ours[count], ours[counts[0]]):.2f}" if count != counts[0] else ""
        rows.append(
            (
                "upload -> ocr:process -> rqworker",
                count,
                f"{median(ours[count]):.2f}",
                f"{paired_ratio(ours[count], bare):.2f}",
                vs_one,
            )
        )
    print(f"\nOCR throughput, {args.images} images per run, {args.rounds} rounds, {os.cpu_count()} cores")
    print(table(rows, ["path", "processes", "images/s", "vs bare loop", "vs 1 worker"]))
    write_result("ocr", {"images": args.images, "rounds": args.rounds, "rows": rows})


if __name__ == "__main__":
    main()
