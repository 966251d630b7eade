"""Notification templates: the predefined ones render Alertmanager's alerts with their own annotations, a
template that does not render is a TemplateError naming it and why, and the sandbox holds."""

from __future__ import annotations

from typing import Any

import pytest

from pushgateway_bridge.notifications.templates import (
    MAX_TEXT_CHARACTERS,
    TemplateError,
    Templates,
    TemplateSource,
)

# One alert of an Alertmanager webhook (version 4) as it sends it, from the bundle's SchedulerRunFailed rule.
FIRING: dict[str, Any] = {
    "status": "firing",
    "labels": {
        "alertname": "SchedulerRunFailed",
        "scheduler_id": "my-service-eod-process",
        "job_name": "eod",
        "severity": "critical",
    },
    "annotations": {
        "summary": "Scheduler my-service-eod-process failed",
        "description": "my-service-eod-process (eod) failed its last 1 run(s).",
        "runbook_url": "https://github.com/example/monitoring-bundle/blob/main/docs/runbooks.md#schedulerrunfailed",
    },
    "startsAt": "2025-03-04T17:31:02.123Z",
    "endsAt": "0001-01-01T00:00:00Z",
    "generatorURL": "http://prometheus:9090/graph?g0.expr=bundle%3Ascheduler_failures&g0.tab=1",
    "fingerprint": "5e3f6a1b2c9d0e47",
}


def test_alert_firing_says_what_the_alerts_annotations_say() -> None:
    subject, text = Templates().render("alert_firing", FIRING)
    assert subject == "[FIRING] SchedulerRunFailed (critical): Scheduler my-service-eod-process failed"
    assert text == (
        "Scheduler my-service-eod-process failed\n"
        "my-service-eod-process (eod) failed its last 1 run(s).\n"
        "\n"
        "Labels: alertname=SchedulerRunFailed, job_name=eod, scheduler_id=my-service-eod-process, severity=critical\n"
        "Started: 2025-03-04T17:31:02.123Z\n"
        "Runbook: https://github.com/example/monitoring-bundle/blob/main/docs/runbooks.md#schedulerrunfailed\n"
        "Source: http://prometheus:9090/graph?g0.expr=bundle%3Ascheduler_failures&g0.tab=1\n"
    )


def test_alert_resolved_adds_when_it_ended() -> None:
    resolved = {**FIRING, "status": "resolved", "endsAt": "2025-03-04T17:46:02.123Z"}
    subject, text = Templates().render("alert_resolved", resolved)
    assert subject == "[RESOLVED] SchedulerRunFailed (critical): Scheduler my-service-eod-process failed"
    assert "Started: 2025-03-04T17:31:02.123Z\nResolved: 2025-03-04T17:46:02.123Z\nRunbook: " in text


def test_an_alert_with_no_annotations_falls_back_to_its_name() -> None:
    bare = {**FIRING, "labels": {"alertname": "Watchdog"}, "annotations": {}, "generatorURL": ""}
    subject, text = Templates().render("alert_firing", bare)
    assert subject == "[FIRING] Watchdog: Watchdog"
    assert text == "Watchdog\n\nLabels: alertname=Watchdog\nStarted: 2025-03-04T17:31:02.123Z\n"


def test_job_failed_with_only_the_job_and_with_everything() -> None:
    templates = Templates()
    assert templates.render("job_failed", {"job": "nightly-export"}) == (
        "Job nightly-export failed",
        "nightly-export failed.\n",
    )
    data = {"job": "nightly-export", "service": "exports", "error": "disk full", "link": "http://x/run/7"}
    assert templates.render("job_failed", data) == (
        "Job nightly-export failed",
        "nightly-export (service exports) failed.\n\ndisk full\n\nhttp://x/run/7\n",
    )


def test_job_failed_cuts_a_long_error() -> None:
    _, text = Templates().render("job_failed", {"job": "j", "error": "x " * 50_000})
    assert len(text) < 2_100
    assert text.endswith("...\n")


def test_a_configured_template_renders_its_data_and_may_replace_a_predefined_one() -> None:
    templates = Templates(
        {
            "model_validated": TemplateSource(
                subject="Model {{ model }}\n validated", text="Score {{ score }}"
            ),
            "job_failed": TemplateSource(subject="{{ job }} broke", text="{{ error }}"),
        }
    )
    assert templates.render("model_validated", {"model": "m1", "score": 0.93}) == (
        "Model m1 validated",
        "Score 0.93",
    )
    assert templates.render("job_failed", {"job": "j", "error": "boom"}) == ("j broke", "boom")


def test_a_missing_variable_names_the_template_and_the_variable() -> None:
    with pytest.raises(TemplateError) as raised:
        Templates().render("job_failed", {"service": "exports"})
    assert (raised.value.template, raised.value.message) == ("job_failed", "subject: 'job' is undefined")
    assert str(raised.value) == "template 'job_failed': subject: 'job' is undefined"


def test_an_unknown_template_lists_the_known_ones() -> None:
    with pytest.raises(TemplateError) as raised:
        Templates().render("welcome", {})
    assert raised.value.message == "no such template (there are: alert_firing, alert_resolved, job_failed)"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{ 1 / 0 }}", "text: ZeroDivisionError: division by zero"),
        ('{{ "%d" % job }}', "text: TypeError: %d format: a real number is required, not str"),
        ("{{ job | round(2, 'sideways') }}", "text: method must be common, ceil or floor"),
        ("", "renders an empty subject and text"),
    ],
)
def test_a_template_that_raises_is_a_template_error(text: str, message: str) -> None:
    templates = Templates({"t": TemplateSource(text=text)})
    with pytest.raises(TemplateError) as raised:
        templates.render("t", {"job": "12"})
    assert raised.value.template == "t"
    assert raised.value.message.startswith(message)


def test_a_syntax_error_is_refused_at_load_with_its_line() -> None:
    with pytest.raises(TemplateError) as raised:
        Templates({"t": TemplateSource(subject="ok", text="line one\n{% if x %}never closed")})
    assert raised.value.template == "t"
    assert raised.value.message.startswith("text: line 2: Unexpected end of template")


# Known ways out of Jinja2 templates (server-side template injection payloads). Each is refused when
# the template is loaded: it never renders, whatever data would come.
WRITTEN_ESCAPES = [
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "'__subclasses__'"),
    ("{{ cycler.__init__.__globals__.os.popen('id').read() }}", "'__globals__'"),
    ("{{ namespace.__init__.__globals__ }}", "'__globals__'"),
    ("{{ self._TemplateReference__context }}", "'_TemplateReference__context'"),
    ("{{ labels._private }}", "'_private'"),
    ("{{ labels['__class__'] }}", "'__class__'"),
    ("{{ labels | attr('__class__') }}", "'__class__'"),
    ("{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}", "'__subclasses__'"),
]


@pytest.mark.parametrize(
    ("payload", "name"), WRITTEN_ESCAPES, ids=[payload for payload, _ in WRITTEN_ESCAPES]
)
def test_a_template_that_reaches_for_python_internals_is_refused_at_load(payload: str, name: str) -> None:
    with pytest.raises(TemplateError) as raised:
        Templates({"evil": TemplateSource(subject="s", text=payload)})
    assert raised.value.template == "evil"
    assert raised.value.message == f"text: refused: {name} reaches Python internals"


@pytest.mark.parametrize("tag", ["{% include 'x' %}", "{% import 'x' as y %}", "{% extends 'x' %}"])
def test_a_template_cannot_load_another(tag: str) -> None:
    with pytest.raises(TemplateError, match="refused: a template cannot load other templates"):
        Templates({"t": TemplateSource(subject=tag)})


# What only shows when the template runs (a name taken from the data, a call that changes a value):
# the sandbox refuses it then.
RUNTIME_ESCAPES = [
    ("{{ labels | attr(name) }}", "access to attribute '__class__' of 'dict' object is unsafe."),
    ("{{ labels[name] }}", "access to attribute '__class__' of 'dict' object is unsafe."),
    ("{{ labels.update({'severity': 'info'}) }}", "access to attribute 'update' of 'dict' object is unsafe."),
    ("{{ items.append(1) }}", "access to attribute 'append' of 'list' object is unsafe."),
    ("{{ '{0.__class__}'.format(1) }}", "access to attribute '__class__' of 'int' object is unsafe."),
    ("{{ cycler }}", "'cycler' is undefined"),  # Jinja's default globals a notification does not need
]


@pytest.mark.parametrize(
    ("payload", "message"), RUNTIME_ESCAPES, ids=[payload for payload, _ in RUNTIME_ESCAPES]
)
def test_the_sandbox_refuses_what_only_shows_at_render_time(payload: str, message: str) -> None:
    data: dict[str, Any] = {"labels": {"severity": "critical"}, "items": [], "name": "__class__"}
    templates = Templates({"t": TemplateSource(text=payload)})
    with pytest.raises(TemplateError) as raised:
        templates.render("t", data)
    assert raised.value.message == f"text: {message}"
    assert data == {"labels": {"severity": "critical"}, "items": [], "name": "__class__"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "{% for i in range(10000) %}0123456789{% endfor %}",
            f"text: longer than {MAX_TEXT_CHARACTERS} characters",
        ),
        ("{{ 'x' * 100000000 }}", f"text: a repetition longer than {MAX_TEXT_CHARACTERS} is refused"),
        ("{{ [0] * 100000000 }}", f"text: a repetition longer than {MAX_TEXT_CHARACTERS} is refused"),
        ("{{ 10 ** 100000000 }}", "text: an exponent above 1000 is refused"),
    ],
)
def test_output_is_bounded(text: str, message: str) -> None:
    templates = Templates({"t": TemplateSource(text=text)})
    with pytest.raises(TemplateError) as raised:
        templates.render("t", {})
    assert raised.value.message == message


def test_a_subject_is_one_line_and_text_is_not_escaped() -> None:
    templates = Templates({"t": TemplateSource(subject="{{ a }}\n\n{{ b }}", text="{{ html }}")})
    assert templates.render("t", {"a": "A", "b": "B", "html": "<b>&</b>"}) == ("A B", "<b>&</b>")
