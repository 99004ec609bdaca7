"""The job records admin: who may see and act, the list, the summary, the detail page, retry and cancel.

Records are written straight to the database here; the browser test (test_admin_browser.py) runs
the same pages against a real worker.
"""

from __future__ import annotations

import html
import logging
import re
from datetime import datetime, timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jobregistry import (
    DuplicateRelatedObjectResolver,
    InvalidJobName,
    JobRecord,
    JobStateError,
    JobStatus,
    cancel_job,
    display,
    enqueue_job,
    retry_job,
)
from jobregistry.related import RelatedObjectRegistry, related_objects
from jobregistry.summary import job_summary
from jobregistry.transport import remove_from_redis

from .factories import grant, make_job

pytestmark = pytest.mark.django_db

LIST_URL = "/admin/jobregistry/jobrecord/"


def change_url(record: JobRecord) -> str:
    return f"{LIST_URL}{record.pk}/change/"


@pytest.fixture
def users(django_user_model):
    make = django_user_model.objects.create_user
    return {
        "anonymous": None,
        "ada": make("ada", password="pw-ada-123"),  # signed in, not staff
        "sid": make("sid", password="pw-sid-123", is_staff=True),  # staff without any permission
        "vic": grant(make("vic", password="pw-vic-123", is_staff=True), "view_jobrecord"),
        "opal": grant(make("opal", password="pw-opal-123", is_staff=True), "change_jobrecord"),
    }


def signed_in(client, user):
    if user is not None:
        client.force_login(user)
    return client


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def run_action(client, action: str, records: list[JobRecord]):
    data = {"action": action, "index": "0", "_selected_action": [r.pk for r in records]}
    return client.post(LIST_URL, data, follow=True)


# --- permissions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "page_status", "can_act"),
    [("anonymous", 302, False), ("ada", 302, False), ("sid", 403, False), ("vic", 200, False), ("opal", 200, True)],
)
def test_who_may_see_job_records_and_who_may_retry_or_cancel_them(client, users, who, page_status, can_act):
    failed = make_job(status=JobStatus.FAILED, error_type="ValueError", error_message="boom")
    queued = make_job(status=JobStatus.QUEUED)
    client = signed_in(client, users[who])

    for url in (LIST_URL, change_url(failed)):
        response = client.get(url)
        assert response.status_code == page_status, url
        if page_status == 302:
            assert response["Location"].startswith("/admin/login/")
    if page_status == 200:
        page = client.get(LIST_URL).content.decode()
        assert ('value="retry_selected"' in page) is can_act
        assert ('value="cancel_selected"' in page) is can_act
        assert ('class="action-select"' in page) is can_act  # no checkboxes without an action
        detail = client.get(change_url(failed)).content.decode()
        assert ("Retry this job" in detail) is can_act
        assert 'name="name"' not in detail  # read-only for everyone: no form fields

    run_action(client, "retry_selected", [failed])
    run_action(client, "cancel_selected", [queued])
    button = client.post(f"{LIST_URL}{failed.pk}/retry/")
    # Anonymous and non-staff are sent to the login page, staff without the permission get 403.
    assert button.status_code == (302 if page_status == 302 or can_act else 403)
    failed.refresh_from_db()
    queued.refresh_from_db()
    assert (failed.status, queued.status) == (
        (JobStatus.QUEUED, JobStatus.CANCELED) if can_act else (JobStatus.FAILED, JobStatus.QUEUED)
    )


def test_nobody_adds_edits_or_deletes_a_record_not_even_a_superuser(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", password="pw-root-123"))
    record = make_job(status=JobStatus.FINISHED)
    assert client.get(f"{LIST_URL}add/").status_code == 403
    assert client.get(f"{LIST_URL}{record.pk}/delete/").status_code == 403
    response = client.post(change_url(record), {"name": "evil:rename", "status": "failed"})
    assert response.status_code == 403
    record.refresh_from_db()
    assert (record.name, record.status) == ("test:echo", JobStatus.FINISHED)
    assert 'value="delete_selected"' not in client.get(LIST_URL).content.decode()


# --- the list ---------------------------------------------------------------------------------


def test_the_list_shows_status_attempts_progress_and_timings_newest_first(client, users):
    old = make_job(status=JobStatus.FAILED, attempts=3, enqueued_ago=timedelta(hours=3))
    running = make_job(
        "test:progress", JobStatus.STARTED, attempts=2, progress=40, progress_message="reading", queue="low"
    )
    page = signed_in(client, users["vic"]).get(LIST_URL).content.decode()

    assert page.index(running.pk[:8]) < page.index(old.pk[:8])  # newest first
    assert '<span class="jr-badge jr-status-started">started</span>' in page
    assert '<span class="jr-badge jr-status-failed">failed</span>' in page
    assert '<td class="field-attempts_display">2/3</td>' in page
    assert '<progress max="100" value="40">40%</progress>' in page
    assert '<span class="jr-progress-message">reading</span>' in page
    assert '<td class="field-duration_display">3.0 s</td>' in page  # started 2 s after enqueue, ended at 5 s
    assert '<td class="field-wait_display">2.0 s</td>' in page
    assert "jobregistry/admin.css" in page


def test_facet_counts_work_with_every_filter(client, users):
    make_job(status=JobStatus.FAILED)
    make_job("test:flaky", JobStatus.FINISHED, queue="low")
    page = signed_in(client, users["vic"]).get(f"{LIST_URL}?_facets=True").content.decode()
    assert "failed (1)" in page and "test:flaky (1)" in page and "low (1)" in page


def test_the_list_makes_the_same_number_of_queries_for_5_and_50_records(client, users):
    client = signed_in(client, users["vic"])

    def queries_for(url: str) -> int:
        client.get(url)  # warm the session and the content-type cache
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    urls = [LIST_URL, f"{LIST_URL}?name=test%3Aecho&status__exact=failed", f"{LIST_URL}?q=ValueError"]
    statuses = [JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STARTED, JobStatus.QUEUED, JobStatus.RETRYING]

    def add(count: int) -> None:
        for n in range(count):
            make_job(
                ["test:echo", "test:flaky"][n % 2],
                statuses[n % 5],
                enqueued_ago=timedelta(days=n % 40, minutes=n),
                error_message="ValueError: boom" if n % 5 == 1 else "",
                owner=users["ada"],
            )

    add(5)
    with_5 = [queries_for(url) for url in urls]
    add(45)
    with_50 = [queries_for(url) for url in urls]
    print(f"queries per change-list page with 5 and with 50 records: {with_5} / {with_50}")
    assert with_5 == with_50
    # session, user, user and group permissions, count, rows, summary, first and last date
    assert max(with_50) == 9


def test_filters_come_from_the_registry_and_settings_not_from_a_scan(client, users):
    make_job("legacy:gone", JobStatus.FINISHED)  # a job type no longer registered
    client = signed_in(client, users["vic"])
    with CaptureQueriesContext(connection) as queries:
        page = client.get(LIST_URL).content.decode()
    assert not [q["sql"] for q in queries.captured_queries if "DISTINCT" in q["sql"].upper()]
    assert "?name=test%3Aecho" in page and "?queue=isolated" in page
    assert "?status__exact=retrying" in page
    assert "?name=legacy%3Agone" not in re.sub(r'<section class="jr-summary.*?</section>', "", page, flags=re.S)
    # ... but the summary links to it, and following the link keeps it as a choice.
    assert 'href="?name=legacy%3Agone"' in page
    filtered = client.get(f"{LIST_URL}?name=legacy%3Agone")
    assert filtered.context["cl"].result_count == 1
    assert "?name=legacy%3Agone" in filtered.content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?status__exact=failed", {"failed"}),
        ("?name=test%3Aflaky", {"flaky"}),
        ("?queue=low", {"low"}),
        ("?q=needle-in-payload", {"payload"}),
        ("?q=needle-in-error", {"failed"}),
        ("?q=ID-EXACT-42", {"exact"}),
        ("?q=EXACT-4", set()),  # ids match whole, not in part
        ("?name=test%3Aecho&status__exact=failed", {"failed"}),
    ],
)
def test_filters_and_search_find_the_right_jobs(client, users, query, expected):
    make_job(status=JobStatus.FAILED, error_message="needle-in-error", data={"k": "failed"})
    make_job("test:flaky", data={"k": "flaky"})
    make_job(queue="low", data={"k": "low"})
    make_job(data={"k": "payload", "note": "needle-in-payload"})
    make_job(id="ID-EXACT-42", data={"k": "exact"})
    response = signed_in(client, users["vic"]).get(f"{LIST_URL}{query}")
    assert {record.data["k"] for record in response.context["cl"].result_list} == expected


def test_a_bad_filter_value_shows_the_list_not_an_error(client, users):
    make_job()
    response = signed_in(client, users["vic"]).get(f"{LIST_URL}?status__exact=nonsense&enqueued_at__year=x")
    assert response.status_code == 302  # Django's admin redirects bad lookups to ?e=1
    assert response["Location"].endswith("?e=1")
    assert signed_in(client, users["vic"]).get(response["Location"]).status_code == 200


def test_the_date_drill_down_offers_the_periods_between_the_first_and_last_job(client, users):
    client = signed_in(client, users["vic"])
    for moment in ("2025-06-10 12:00", "2026-03-05 08:00", "2026-03-20 23:30"):
        record = make_job()
        at = timezone.make_aware(datetime.fromisoformat(moment))
        JobRecord.objects.filter(pk=record.pk).update(enqueued_at=at)

    years = client.get(LIST_URL).content.decode()
    assert "?enqueued_at__year=2025" in years and "?enqueued_at__year=2026" in years
    months = client.get(f"{LIST_URL}?enqueued_at__year=2026").content.decode()
    assert "enqueued_at__month=3" in months and "enqueued_at__month=4" not in months
    assert "enqueued_at__month=2" not in months  # bounded by the first job of 2026
    days = client.get(f"{LIST_URL}?enqueued_at__year=2026&enqueued_at__month=3")
    links = set(re.findall(r"enqueued_at__day=(\d+)", days.content.decode()))
    assert links == {str(d) for d in range(5, 21)}
    assert days.context["cl"].result_count == 2
    day = client.get(f"{LIST_URL}?enqueued_at__year=2026&enqueued_at__month=3&enqueued_at__day=20")
    assert day.context["cl"].result_count == 1
    empty = client.get(f"{LIST_URL}?enqueued_at__year=2024")
    assert empty.context["cl"].result_count == 0
    assert 'class="date-back">&lsaquo; All dates</a>' in empty.content.decode()  # a way back, no choices


# --- the summary ------------------------------------------------------------------------------


def test_the_summary_counts_each_type_by_status_for_24_hours_and_all_time_in_one_query(
    client, users, django_assert_num_queries
):
    for ago in (timedelta(minutes=1), timedelta(hours=2), timedelta(days=3)):
        make_job("test:echo", JobStatus.FINISHED, enqueued_ago=ago)
    make_job("test:echo", JobStatus.FAILED, enqueued_ago=timedelta(days=30))
    make_job("test:flaky", JobStatus.QUEUED, enqueued_ago=timedelta(hours=23))

    with django_assert_num_queries(1):
        summary = job_summary()

    assert summary.statuses == ["queued", "finished", "failed"]  # lifecycle order, only those present
    table = {row.name: {c.status: (c.recent, c.total) for c in row.cells} for row in summary.rows}
    assert table == {
        "test:echo": {"queued": (0, 0), "finished": (2, 3), "failed": (0, 1)},
        "test:flaky": {"queued": (1, 1), "finished": (0, 0), "failed": (0, 0)},
    }
    assert [(c.recent, c.total) for c in summary.totals.cells] == [(1, 1), (2, 3), (0, 1)]
    assert (summary.totals.recent, summary.totals.total) == (3, 5)

    page = signed_in(client, users["vic"]).get(LIST_URL).content.decode()
    assert "Jobs by type and status" in page
    assert 'href="?name=test%3Aecho&amp;status__exact=finished"' in page
    assert ">2 / 3</a>" in page
    assert ">3 / 5</td>" in page


def test_an_empty_table_says_there_are_no_jobs(client, users):
    page = signed_in(client, users["vic"]).get(LIST_URL).content.decode()
    assert "No jobs yet." in page


# --- the detail page --------------------------------------------------------------------------


def test_the_detail_page_shows_payload_result_traceback_and_every_attempt(client, users):
    record = make_job(
        status=JobStatus.FAILED,
        data={"path": "/tmp/<missing>.txt", "nested": {"b": 2, "a": [1, 2]}, "name": "Zoë"},
        error_type="FileNotFoundError",
        error_message="[Errno 2] No such file",
        error_traceback='Traceback (most recent call last):\n  File "x.py", line 1, in <module>\nFileNotFoundError',
        worker_name="worker-b",
        tries=(("failed", "first try failed"), ("failed", "second try failed")),
        attempts=2,
    )
    page = signed_in(client, users["vic"]).get(change_url(record)).content.decode()
    text = html.unescape(page)

    assert "/tmp/&lt;missing&gt;.txt" in page  # HTML-escaped
    assert '"name": "Zoë"' in text  # pretty JSON, not ASCII-escaped
    assert '  "nested": {\n    "a": [\n      1,' in text  # indented, keys sorted
    assert '<pre class="jr-pre">Traceback (most recent call last):\n  File "x.py"' in text  # monospace, as is
    assert "in &lt;module&gt;" in page
    assert page.count("<tr><td>") == 2  # one row per attempt
    assert "ValueError: first try failed" in page and "ValueError: second try failed" in page
    assert "worker-b" in page and "worker-a" in page
    assert "Redis no longer holds this job" in page
    assert page.index("FileNotFoundError") < page.index("Payload and result")  # the error comes first


def test_a_finished_job_shows_its_result_and_no_error_section(client, users):
    record = make_job(status=JobStatus.FINISHED, result={"words": 16})
    page = html.unescape(signed_in(client, users["vic"]).get(change_url(record)).content.decode())
    assert '<pre class="jr-pre">{\n  "words": 16\n}</pre>' in page
    assert "Traceback:" not in page and ">Error<" not in page


def test_the_detail_page_links_to_the_job_in_django_rqs_dashboard_while_redis_holds_it(
    client, users, redis_conn, django_capture_on_commit_callbacks
):
    # Delayed an hour on a queue no shared worker listens on: in Redis, and never run by this test.
    with django_capture_on_commit_callbacks(execute=True):
        record = enqueue_job("test:echo", {"n": 1}, delay=timedelta(hours=1), queue="isolated")
    client = signed_in(client, users["opal"])
    try:
        page = client.get(change_url(record)).content.decode()
        link = re.search(r'href="(/admin/django_rq/dashboard/queues/\d+/([^/]+)/)"', page)
        assert link is not None, "no dashboard link"
        assert link.group(2) == record.pk
        dashboard = client.get(link.group(1))
        assert dashboard.status_code == 200
        assert record.pk in dashboard.content.decode()
    finally:
        remove_from_redis("isolated", record.pk)
    assert "Redis no longer holds this job" in client.get(change_url(record)).content.decode()


def test_the_detail_page_says_so_when_redis_does_not_answer(client, users, settings):
    # Port 1 on this machine refuses connections: a Redis that is down, for real.
    settings.RQ_QUEUES = {
        name: {**config, "URL": "redis://127.0.0.1:1/0"} for name, config in settings.RQ_QUEUES.items()
    }
    record = make_job(status=JobStatus.FAILED)
    response = signed_in(client, users["vic"]).get(change_url(record))
    assert response.status_code == 200
    assert "Redis did not answer (ConnectionError)" in response.content.decode()


# --- related objects ----------------------------------------------------------------------------


@pytest.fixture
def temporary_resolver():
    names: list[str] = []

    def register(name, resolver):
        related_objects.register(name, resolver)
        names.append(name)

    yield register
    for name in names:
        related_objects.unregister(name)


def test_a_registered_resolver_links_the_job_to_its_object(client, users, temporary_resolver):
    temporary_resolver("test:echo", lambda record: users[record.data["who"]])
    record = make_job(data={"who": "ada"})
    page = signed_in(client, users["vic"]).get(change_url(record)).content.decode()
    assert f'<a href="/admin/auth/user/{users["ada"].pk}/change/">user ada</a>' in page


def test_a_resolver_that_fails_shows_no_link_and_is_logged(client, users, temporary_resolver, caplog):
    temporary_resolver("test:echo", lambda record: record.data["missing"])
    record = make_job(data={})
    with caplog.at_level(logging.ERROR, logger="jobregistry.related"):
        response = signed_in(client, users["vic"]).get(change_url(record))
    assert response.status_code == 200
    assert "The related-object resolver for test:echo failed" in caplog.text


def test_the_resolver_registry_refuses_a_second_resolver_and_bad_names():
    registry = RelatedObjectRegistry()

    def first(record):
        return None

    registry.register("a:b", first)
    registry.register("a:b", first)  # the same one again is harmless
    with pytest.raises(DuplicateRelatedObjectResolver, match="already has the related-object resolver"):
        registry.register("a:b", lambda record: None)
    with pytest.raises(InvalidJobName):
        registry.register("no colon", first)
    with pytest.raises(TypeError, match="must be callable"):
        registry.register("a:c", "not a function")

    @registry.register("a:d")
    def decorated(record):
        return "found"

    assert registry.resolve(JobRecord(name="a:d")) == "found"
    assert registry.resolve(JobRecord(name="x:unknown")) is None


# --- retry and cancel -------------------------------------------------------------------------


def test_retry_acts_on_failed_and_canceled_jobs_and_says_why_it_skipped_the_rest(client, users):
    retryable = [make_job(status=JobStatus.FAILED), make_job(status=JobStatus.FAILED), make_job(status="canceled")]
    others = [make_job(status=JobStatus.FINISHED), make_job(status=JobStatus.STARTED)]
    response = run_action(signed_in(client, users["opal"]), "retry_selected", retryable + others)

    assert messages_of(response) == [
        "Retried 3 jobs.",
        "Skipped 2 jobs (1 finished, 1 started): only failed or canceled jobs can be retried.",
    ]
    assert {JobRecord.objects.get(pk=r.pk).status for r in retryable} == {JobStatus.QUEUED}
    assert [JobRecord.objects.get(pk=r.pk).status for r in others] == [JobStatus.FINISHED, JobStatus.STARTED]
    assert LogEntry.objects.filter(object_id__in=[r.pk for r in retryable], user=users["opal"]).count() == 3


def test_cancel_acts_on_waiting_jobs_and_says_why_it_skipped_the_rest(client, users):
    waiting = [make_job(status=JobStatus.QUEUED), make_job(status=JobStatus.SCHEDULED)]
    finished = make_job(status=JobStatus.FINISHED)
    response = run_action(signed_in(client, users["opal"]), "cancel_selected", [*waiting, finished])
    assert messages_of(response) == [
        "Canceled 2 jobs.",
        "Skipped 1 job (1 finished): only pending, queued, scheduled or retrying jobs can be canceled.",
    ]
    assert {JobRecord.objects.get(pk=r.pk).status for r in waiting} == {JobStatus.CANCELED}


def test_an_action_on_nothing_retryable_only_warns(client, users):
    finished = make_job(status=JobStatus.FINISHED)
    response = run_action(signed_in(client, users["opal"]), "retry_selected", [finished])
    assert messages_of(response) == ["Skipped 1 job (1 finished): only failed or canceled jobs can be retried."]


def test_the_detail_buttons_retry_and_cancel_one_job_and_refuse_wrong_states(client, users):
    client = signed_in(client, users["opal"])
    failed, queued = make_job(status=JobStatus.FAILED), make_job(status=JobStatus.QUEUED)

    assert client.get(f"{LIST_URL}{failed.pk}/retry/").status_code == 405
    response = client.post(f"{LIST_URL}{failed.pk}/retry/", follow=True)
    assert response.redirect_chain == [(change_url(failed), 302)]
    assert messages_of(response) == [f"Job {failed.pk} will run again."]
    assert JobRecord.objects.get(pk=failed.pk).status == JobStatus.QUEUED

    response = client.post(f"{LIST_URL}{queued.pk}/cancel/", follow=True)
    assert messages_of(response) == [f"Job {queued.pk} is canceled."]
    again = client.post(f"{LIST_URL}{queued.pk}/cancel/", follow=True)
    assert messages_of(again) == [
        f"Job {queued.pk} is canceled; only pending, queued, scheduled or retrying jobs can be canceled."
    ]
    missing = client.post(f"{LIST_URL}no-such-job/retry/", follow=True)
    assert missing.status_code == 200 and "no-such-job" in messages_of(missing)[0]


def test_job_state_errors_name_the_state_they_found():
    finished = make_job(status=JobStatus.FINISHED)
    with pytest.raises(JobStateError) as retry_error:
        retry_job(finished.pk)
    with pytest.raises(JobStateError) as cancel_error:
        cancel_job(finished.pk)
    with pytest.raises(JobStateError) as missing:
        retry_job("nope")
    assert (retry_error.value.status, cancel_error.value.status, missing.value.status) == ("finished", "finished", None)


# --- how times read ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0.25, "250 ms"),
        (12.34, "12.3 s"),
        (245, "4 min 5 s"),
        (2 * 3600 + 180, "2 h 3 min"),
        (3 * 86400 + 4 * 3600, "3 d 4 h"),
        (-0.5, "0 ms"),  # hosts' clocks disagree a little: never a negative duration
    ],
)
def test_durations_read_like_a_person_would_say_them(seconds, shown):
    assert display.format_duration(timedelta(seconds=seconds)) == shown
    assert display.format_duration(None) == "-"


def test_run_and_wait_times_follow_the_jobs_state():
    now = timezone.now()
    queued = JobRecord(status=JobStatus.QUEUED, enqueued_at=now - timedelta(seconds=30))
    running = JobRecord(
        status=JobStatus.STARTED, enqueued_at=now - timedelta(seconds=30), started_at=now - timedelta(seconds=10)
    )
    canceled = JobRecord(status=JobStatus.CANCELED, enqueued_at=now - timedelta(seconds=30), finished_at=now)
    assert (display.wait_time(queued, now), display.run_time(queued, now)) == (timedelta(seconds=30), None)
    assert (display.wait_time(running, now), display.run_time(running, now)) == (
        timedelta(seconds=20),
        timedelta(seconds=10),
    )
    assert (display.wait_time(canceled, now), display.run_time(canceled, now)) == (None, None)
