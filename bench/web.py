"""Upload latency while OCR workers are busy, against a plain Django view, in one run.

    .venv/bin/python bench/web.py [--clients 8] [--requests 25] [--backlog 40]

gunicorn serves the project (2 processes x 4 threads); two `rqworker` processes chew through a
backlog of OCR jobs the whole time; `--clients` threads each send `--requests` multipart uploads to
POST /api/uploads/ and as many GETs of /healthz/ (a view that touches nothing). Reported: median
and 95th percentile latency of each, and their ratio.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    PYTHON,
    bench_env,
    manage,
    median,
    percentile,
    reset_state,
    setup_django,
    table,
    write_result,
)

ADDRESS = "127.0.0.1:8123"


def wait_for_server(url: str, proc: subprocess.Popen) -> None:
    for _ in range(200):
        if proc.poll() is not None:
            raise SystemExit("gunicorn exited before it answered")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"no answer from {url}")


def multipart(data: bytes) -> tuple[bytes, str]:
    boundary = "benchboundary7d2f"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="scan.png"\r\n'
            f"Content-Type: image/png\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def timed(request: urllib.request.Request, expect: int) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()
        if response.status != expect:
            raise SystemExit(f"{request.full_url}: {response.status}, expected {expect}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=25)
    parser.add_argument("--backlog", type=int, default=40)
    args = parser.parse_args()

    env = bench_env("sqlite", OCR_ENABLED="true")
    reset_state(env)
    setup_django(env)
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from rest_framework.authtoken.models import Token

    from tests.images import encode, render_text
    from uploads.services import create_upload
    from uploads.validators import validate_image_upload

    user = get_user_model().objects.create_user("bench", password="bench-password-123")
    token = Token.objects.create(user=user).key
    page = encode(render_text("Latency under load " * 12, font_size=28), "PNG")
    for n in range(args.backlog):  # work for the OCR workers during the whole run
        file = SimpleUploadedFile(f"backlog-{n}.png", page)
        create_upload(owner=user, file=file, info=validate_image_upload(file))
    small = encode(render_text("Hello"), "PNG")

    server = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "gunicorn",
            "jobsite.wsgi",
            "-b",
            ADDRESS,
            "-w",
            "2",
            "--threads",
            "4",
            "--log-level",
            "warning",
        ],
        env=env,
    )
    workers = [subprocess.Popen(manage("rqworker", "-v0"), env=env) for _ in range(2)]
    uploads: list[float] = []
    plain: list[float] = []
    try:
        wait_for_server(f"http://{ADDRESS}/healthz/", server)
        body, content_type = multipart(small)
        headers = {"Authorization": f"Token {token}", "Content-Type": content_type}

        def client() -> None:
            for _ in range(args.requests):
                upload = urllib.request.Request(f"http://{ADDRESS}/api/uploads/", data=body, headers=headers)
                uploads.append(timed(upload, 201))
                plain.append(timed(urllib.request.Request(f"http://{ADDRESS}/healthz/"), 200))

        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for proc in [server, *workers]:
            proc.terminate()
        for proc in [server, *workers]:
            proc.wait()

    rows = []
    for name, values in (("POST /api/uploads/", uploads), ("GET /healthz/ (plain view)", plain)):
        rows.append((name, len(values), f"{median(values) * 1000:.1f}", f"{percentile(values, 95) * 1000:.1f}"))
    ratio_median = median(uploads) / median(plain)
    ratio_p95 = percentile(uploads, 95) / percentile(plain, 95)
    print(f"\nRequest latency, {args.clients} concurrent clients, 2 OCR workers busy")
    print(table(rows, ["request", "count", "median ms", "p95 ms"]))
    print(f"upload / plain view: median x{ratio_median:.1f}, p95 x{ratio_p95:.1f}")
    write_result("web", {"rows": rows, "ratio_median": ratio_median, "ratio_p95": ratio_p95})


if __name__ == "__main__":
    main()
