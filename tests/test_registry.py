"""The registry: names, registration, duplicates. Pure Python, no services."""

import pytest

from jobregistry import DuplicateJobProcessor, InvalidJobName, UnknownJobType, registry
from jobregistry.registry import JobRegistry


def noop(job):
    return None


def other(job):
    return None


@pytest.mark.parametrize("name", ["ocr:process", "email:send", "a:b", "feature_1:do-it", "x-y:z_9"])
def test_valid_names_are_accepted(name):
    reg = JobRegistry()
    reg.register(name, noop)
    assert reg.get(name).func is noop


@pytest.mark.parametrize(
    "name",
    [
        "ocr",
        "ocr:",
        ":process",
        "OCR:process",
        "ocr:process:again",
        "ocr process",
        "ocr:pro cess",
        "ocr.process",
        "",
        "ocr:prößess",
        None,
        42,
    ],
)
def test_bad_names_are_refused_with_the_name_and_the_rule(name):
    reg = JobRegistry()
    with pytest.raises(InvalidJobName) as excinfo:
        reg.register(name, noop)
    message = str(excinfo.value)
    assert repr(name) in message
    assert "<feature>:<action>" in message


def test_decorator_form_registers_and_returns_the_function():
    reg = JobRegistry()

    @reg.register("email:send")
    def send(job):
        return "sent"

    assert reg.get("email:send").func is send
    assert send(None) == "sent"


def test_public_decorator_and_function_use_the_project_registry():
    from jobregistry import job_processor, register_job_processor

    try:
        decorated = job_processor("unit:decorated")(noop)
        assert decorated is noop and registry.get("unit:decorated").func is noop
        register_job_processor("unit:plain", other, queue="low")
        assert registry.get("unit:plain").queue == "low"
    finally:
        registry.unregister("unit:decorated")
        registry.unregister("unit:plain")


def test_registering_the_same_function_twice_is_harmless():
    reg = JobRegistry()
    reg.register("email:send", noop)
    reg.register("email:send", noop)
    assert [t.name for t in reg.all()] == ["email:send"]


def test_a_different_function_under_a_taken_name_is_an_error():
    reg = JobRegistry()
    reg.register("email:send", noop)
    with pytest.raises(DuplicateJobProcessor, match=r"'email:send' is already registered to .*noop"):
        reg.register("email:send", other)
    assert reg.get("email:send").func is noop


def test_unknown_name_lists_what_is_registered():
    reg = JobRegistry()
    reg.register("email:send", noop)
    with pytest.raises(UnknownJobType, match=r"Unknown job type 'email:sned'; registered job types: email:send"):
        reg.get("email:sned")


def test_apps_register_in_ready():
    # tests.jobapp registers its processors in AppConfig.ready(), as the README says apps should.
    assert "test:echo" in registry
    assert registry.get("test:low").queue == "low"


def test_a_loader_registers_an_unknown_name_on_demand_from_the_job():
    reg = JobRegistry()
    seen = []

    def load(name, data):
        seen.append((name, data))
        if data.get("known"):
            reg.register(name, noop)

    reg.add_loader(load)
    reg.add_loader(load)  # twice is harmless
    assert reg.resolve("lazy:job", {"known": True}).func is noop
    assert reg.resolve("lazy:job", {"known": True}).func is noop  # known now: the loader is not asked again
    assert seen == [("lazy:job", {"known": True})]
    with pytest.raises(UnknownJobType, match=r"Unknown job type 'lazy:other'"):
        reg.resolve("lazy:other", {"known": False})
