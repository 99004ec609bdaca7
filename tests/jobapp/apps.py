"""A small app of test job types, registered the way the README tells every app to."""

from django.apps import AppConfig


class JobAppConfig(AppConfig):
    name = "tests.jobapp"
    label = "tests_jobapp"

    def ready(self) -> None:
        from jobregistry import register_job_processor

        from . import jobs

        register_job_processor("test:echo", jobs.echo)
        register_job_processor("test:refused", jobs.echo)  # only ever enqueued with bad arguments
        register_job_processor("test:flaky", jobs.flaky)
        register_job_processor("test:always-fail", jobs.always_fail)
        register_job_processor("test:progress", jobs.progress)
        register_job_processor("test:bad-result", jobs.bad_result)
        register_job_processor("test:permanent", jobs.permanent)
        register_job_processor("test:needs-file", jobs.needs_file)
        register_job_processor("test:low", jobs.echo, queue="low")
        register_job_processor("test:sleep", jobs.sleepy)
