"""In a real browser: a person uploads an image and watches its text appear; staff then find the
job in the admin, read it, and retry a job that failed for real. Everything is real: Chromium
(Debian's, driven by Playwright), the live server, a `manage.py rqworker` process and Tesseract.

Screenshots of each page land in test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connections
from playwright.sync_api import Browser, Page, expect, sync_playwright
from rq import Worker
from rq.suspension import resume, suspend

from jobregistry import JobRecord, JobStatus, enqueue_job

from .factories import grant
from .images import encode, render_text, word_match
from .test_worker import wait_for_end
from .waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; bin/setup installs it. Never `playwright install`.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
PATIENCE_MS = 60_000  # how long the browser waits for the worker; only a guard against hangs
LETTER = "Dear staff please read this scanned letter before the meeting on Friday"


@pytest.fixture
def browser(monkeypatch) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (bin/setup does).")
    # Playwright's sync API runs an event loop in this thread, and Django refuses ORM calls while a
    # loop runs there. The test's own ORM calls are plain synchronous code, so allow them.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
        # While that loop runs, Django keeps this thread's connections apart from the usual ones;
        # close them now, or PostgreSQL cannot drop the test database at the end of the run.
        connections.close_all()


def new_page(browser: Browser, live_server) -> Page:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1600, "height": 1000})
    context.set_default_timeout(PATIENCE_MS)
    return context.new_page()


def screenshot(page: Page, name: str) -> None:
    page.screenshot(path=SCREENSHOTS / name, full_page=True)


@contextmanager
def workers_paused(redis_conn) -> Iterator[None]:
    """Hold every worker of the `default` queue between jobs until the block ends.

    `rq suspend` is only read between jobs, and an idle worker is blocked waiting for one, so
    each gets a `jobs:ping` to finish first; then RQ itself reports the worker as suspended.
    """
    listening = {w.name for w in Worker.all(connection=redis_conn) if "default" in w.queue_names()}
    suspend(redis_conn)
    try:
        for ping in [enqueue_job("jobs:ping", {"n": n}) for n in range(len(listening))]:
            wait_for_end(ping.pk)

        def all_suspended() -> bool:
            states = {w.name: w.get_state() for w in Worker.all(connection=redis_conn)}
            return all(states.get(name) == "suspended" for name in listening)

        wait_until(all_suspended, what="the workers to report themselves suspended")
        yield
    finally:
        resume(redis_conn)


def sign_in(page: Page, path: str, username: str, password: str, button: str) -> None:
    page.goto(path)
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.get_by_role("button", name=button).click()


def test_upload_watch_ocr_then_find_inspect_and_retry_jobs_in_the_admin(
    browser, live_server, worker, redis_conn, django_user_model, tmp_path
):
    django_user_model.objects.create_user("ada", password="pw-ada-123")
    staff = django_user_model.objects.create_user("sam", password="pw-sam-123", is_staff=True)
    grant(staff, "change_jobrecord", "view_upload")

    # --- a person uploads a scan and watches its text appear, without reloading -------------
    page = new_page(browser, live_server)
    sign_in(page, "/accounts/login/", "ada", "pw-ada-123", "Sign in")
    expect(page).to_have_url(re.compile(r"/uploads/$"))
    page.goto("/uploads/new/")
    page.set_input_files(
        "#id_file",
        files=[{"name": "letter.png", "mimeType": "image/png", "buffer": encode(render_text(LETTER), "PNG")}],
    )
    screenshot(page, "01-upload-form.png")
    with workers_paused(redis_conn):  # so the page is sure to open before the text is read
        page.get_by_role("button", name="Upload", exact=True).click()
        expect(page).to_have_url(re.compile(r"/uploads/\d+/$"))
        expect(page.locator("#ocr-status")).to_have_text("queued")
        page.evaluate("window.stillTheSamePage = true")
    expect(page.locator("#ocr-status")).to_have_text("done", timeout=PATIENCE_MS)
    assert page.evaluate("window.stillTheSamePage") is True  # the page changed itself; nobody reloaded it
    ocr_text = page.locator("#ocr-text").inner_text()
    print(f"OCR read {word_match(LETTER, ocr_text):.0%} of the words: {ocr_text!r}")
    assert word_match(LETTER, ocr_text) >= 0.9
    expect(page.locator("#ocr-progress")).to_be_hidden()
    screenshot(page, "02-upload-ocr-done.png")
    upload_id = int(re.search(r"/uploads/(\d+)/$", page.url).group(1))
    ocr_job = JobRecord.objects.get(name="ocr:process", data__upload_id=upload_id)

    # A job that fails for real: the file it needs is not there yet.
    needed = tmp_path / "report.txt"
    failing = enqueue_job("test:needs-file", {"path": str(needed)})
    assert wait_for_end(failing.pk).status == JobStatus.FAILED

    # --- staff find the OCR job by filter and search, and read it ------------------------------
    admin = new_page(browser, live_server)
    sign_in(admin, "/admin/login/?next=/admin/jobregistry/jobrecord/", "sam", "pw-sam-123", "Log in")
    expect(admin.locator("#jr-summary-title")).to_have_text("Jobs by type and status")
    admin.locator("#changelist-filter").get_by_role("link", name="ocr:process").click()
    admin.locator("#changelist-filter").get_by_role("link", name="finished").click()
    expect(admin).to_have_url(re.compile(r"name=ocr%3Aprocess"))
    admin.fill("#searchbar", ocr_job.pk)
    admin.press("#searchbar", "Enter")
    rows = admin.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".jr-badge")).to_have_text("finished")
    expect(rows.first.locator(".field-attempts_display")).to_have_text("1/3")
    screenshot(admin, "03-admin-job-list.png")

    rows.first.locator(f"a[href*='{ocr_job.pk}']").click()
    expect(admin.locator(".field-status_badge .jr-badge")).to_have_text("finished")
    expect(admin.locator(".field-data_pretty pre")).to_contain_text(f'"upload_id": {upload_id}')
    expect(admin.locator(".field-result_pretty pre")).to_contain_text('"words"')
    expect(admin.locator(".field-worker_name")).to_contain_text(worker.name)
    expect(admin.locator(".jr-attempts tbody tr")).to_have_count(1)
    expect(admin.locator(".field-related_object_link a")).to_have_attribute(
        "href", f"/admin/uploads/upload/{upload_id}/change/"
    )
    dashboard = admin.locator(".field-rq_dashboard_link a")
    expect(dashboard).to_have_attribute("href", re.compile(rf"/admin/django_rq/dashboard/queues/\d+/{ocr_job.pk}/$"))
    screenshot(admin, "04-admin-job-detail.png")
    dashboard.click()
    expect(admin.locator("#content")).to_contain_text(ocr_job.pk)  # django-rq's page for the same job
    admin.go_back()
    admin.locator(".field-related_object_link a").click()
    expect(admin.locator("img.upl-preview")).to_be_visible()
    assert admin.locator("img.upl-preview").evaluate("img => img.naturalWidth") == 1400  # served to staff
    screenshot(admin, "05-admin-upload-detail.png")

    # --- staff read why a job failed, fix the cause, and retry it from the list ---------------
    admin.goto("/admin/jobregistry/jobrecord/?status__exact=failed")
    failed_row = admin.locator("#result_list tbody tr", has=admin.locator(f"a[href*='{failing.pk}']"))
    failed_row.locator(f"a[href*='{failing.pk}']").click()
    expect(admin.locator(".field-error_traceback_pre pre")).to_contain_text("FileNotFoundError")
    expect(admin.locator(".field-error_traceback_pre pre")).to_contain_text("Traceback (most recent call last)")
    screenshot(admin, "06-admin-failed-job.png")
    admin.go_back()

    needed.write_text("the report, at last")
    failed_row.locator("input.action-select").check()
    admin.select_option("select[name=action]", "retry_selected")
    admin.get_by_role("button", name="Go").click()
    expect(admin.locator("ul.messagelist")).to_contain_text("Retried 1 job.")

    admin.goto(f"/admin/jobregistry/jobrecord/{failing.pk}/change/")
    badge = admin.locator(".field-status_badge .jr-badge")

    def finished_after_reload() -> bool:  # the admin does not refresh itself; staff press F5
        admin.reload()
        return badge.inner_text() == "finished"

    wait_until(finished_after_reload, what="the retried job to finish")
    expect(admin.locator(".field-result_pretty pre")).to_contain_text("the report, at last")
    outcomes = admin.locator(".jr-attempts tbody tr .jr-badge").all_inner_texts()
    assert outcomes == ["failed", "finished"]  # the failed try stays in the log
    screenshot(admin, "07-admin-retried-job.png")
