"""JOB_STALE_AFTER and JOB_RECONCILE_INTERVAL: their defaults, what they imply, and the system check."""

import pytest
from django.test import override_settings

from jobregistry.apps import check_job_timing
from jobregistry.timing import Timing


def test_the_defaults_notice_a_dead_worker_within_a_minute_and_a_quarter():
    timing = Timing()
    assert (timing.stale_after, timing.reconcile_every, timing.heartbeat_every) == (60, 15, 15)


def test_the_test_settings_are_read_from_the_environment():
    assert Timing.from_settings() == Timing(stale_after=4, reconcile_every=1)
    assert Timing.from_settings().heartbeat_every == 1


@pytest.mark.parametrize(
    ("stale_after", "interval", "message"),
    [
        (3, 1, "JOB_STALE_AFTER must be at least 4 seconds, got 3."),
        (60, 0, "JOB_RECONCILE_INTERVAL must be at least 1 second, got 0."),
    ],
)
def test_values_that_cannot_work_fail_the_system_check(stale_after, interval, message):
    with override_settings(JOB_STALE_AFTER=stale_after, JOB_RECONCILE_INTERVAL=interval):
        errors = check_job_timing()
    assert [(error.id, error.msg) for error in errors] == [("jobregistry.E002", message)]
