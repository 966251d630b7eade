"""Notification templates: a subject and a text each, rendered in Jinja2's immutable sandbox.

Templates come from monitoring.yml (`notifications.templates`, via the rendered notifications.yml) and
from `PREDEFINED` below; a request only names one and gives its `data`, values that are never themselves
rendered. A variable the data lacks is an error naming it (StrictUndefined), not an empty string.

A template that reaches for Python internals is refused when it is loaded, before it can run: any
attribute or item whose name starts with `_` (`''.__class__`, `x['__globals__']`, `attr('_x')`), and
`include`/`import`/`extends`. What only shows at render time (a name computed from the data) the sandbox
refuses then, as it refuses calls that modify a list or dict. The output is bounded: a subject of
`MAX_SUBJECT_CHARACTERS`, a text of `MAX_TEXT_CHARACTERS`, and `*` and `**` cannot build a huge value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field

MAX_SUBJECT_CHARACTERS = 1_000
MAX_TEXT_CHARACTERS = 64_000
MAX_EXPONENT = 1_000  # 2 ** 1000 is fine; 9 ** 9 ** 9 would hold a thread for hours
NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"  # as NotifyRequest.template accepts it

ALERT_FIRING = "alert_firing"
ALERT_RESOLVED = "alert_resolved"
JOB_FAILED = "job_failed"


class TemplateError(Exception):
    """`template` does not load or render; `message` says why. The API answers 422 with both."""

    def __init__(self, template: str, message: str) -> None:
        super().__init__(f"template {template!r}: {message}")
        self.template = template
        self.message = message


class TemplateSource(BaseModel):
    """A template as configured: Jinja2 text for the subject and for the body."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    subject: str = Field(default="", max_length=MAX_SUBJECT_CHARACTERS)
    text: str = Field(default="", max_length=MAX_TEXT_CHARACTERS)


# Alert templates take one alert of Alertmanager's webhook as sent (status, labels, annotations, startsAt,
# endsAt, generatorURL, fingerprint). Their words are the alert's own annotations, rendered from
# monitoring.yml with the rules: nothing here says again what an alert means.
_ALERT_SUBJECT = (
    "[{{ status | upper }}] {{ labels.alertname }}"
    "{% if labels.severity is defined %} ({{ labels.severity }}){% endif %}"
    ": {{ annotations.summary | default(labels.alertname) }}"
)
_ALERT_TEXT = """\
{{ annotations.summary | default(labels.alertname) }}
{% if annotations.description is defined %}
{{ annotations.description }}
{% endif %}

Labels: {{ labels | dictsort | map("join", "=") | join(", ") }}
Started: {{ startsAt }}
"""
_ALERT_LINKS = """\
{% if annotations.runbook_url is defined %}
Runbook: {{ annotations.runbook_url }}
{% endif %}
{% if generatorURL is defined and generatorURL %}
Source: {{ generatorURL }}
{% endif %}
"""
# A failed job (a scheduler run, a sidecar job): `job`, and if known `service`, `error` and `link`.
_JOB_FAILED_TEXT = """\
{{ job }}{% if service is defined %} (service {{ service }}){% endif %} failed.
{% if error is defined and error %}

{{ error | truncate(2000) }}
{% endif %}
{% if link is defined and link %}

{{ link }}
{% endif %}
"""

PREDEFINED: dict[str, TemplateSource] = {
    ALERT_FIRING: TemplateSource(subject=_ALERT_SUBJECT, text=_ALERT_TEXT + _ALERT_LINKS),
    ALERT_RESOLVED: TemplateSource(
        subject=_ALERT_SUBJECT, text=_ALERT_TEXT + "Resolved: {{ endsAt }}\n" + _ALERT_LINKS
    ),
    JOB_FAILED: TemplateSource(subject="Job {{ job }} failed", text=_JOB_FAILED_TEXT),
}


class _Environment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and right > MAX_EXPONENT:
            raise SecurityError(f"an exponent above {MAX_EXPONENT} is refused")
        if operator == "*":
            for sequence, times in ((left, right), (right, left)):
                sized = isinstance(sequence, str | list | tuple) and isinstance(times, int)
                if sized and len(sequence) * times > MAX_TEXT_CHARACTERS:
                    raise SecurityError(f"a repetition longer than {MAX_TEXT_CHARACTERS} is refused")
        return super().call_binop(context, operator, left, right)


def _environment() -> _Environment:
    env = _Environment(
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # plain text: each channel escapes for its own format (Slack mrkdwn, HTML)
        trim_blocks=True,
        lstrip_blocks=True,
    )
    for unneeded in ("cycler", "joiner", "lipsum"):  # Jinja's default globals a notification has no use for
        del env.globals[unneeded]
    return env


ENVIRONMENT = _environment()
_REFUSED_TAGS = (nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)


def _internal_name(node: nodes.Node) -> str | None:
    """The `_` name `node` reaches for, written into the template, or None."""
    name: Any = None
    if isinstance(node, nodes.Getattr):
        name = node.attr
    elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        name = node.arg.value
    elif isinstance(node, nodes.Filter) and node.name == "attr" and node.args:
        first = node.args[0]
        name = first.value if isinstance(first, nodes.Const) else None
    return name if isinstance(name, str) and name.startswith("_") else None


def _compile(part: str, source: str) -> jinja2.Template:
    """One part (subject or text) compiled, or ValueError("<part>: <why>") naming what is refused."""
    try:
        tree = ENVIRONMENT.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        raise ValueError(f"{part}: line {exc.lineno}: {exc.message}") from None
    for node in tree.find_all(nodes.Node):
        internal = _internal_name(node)
        if internal is not None:
            raise ValueError(f"{part}: refused: {internal!r} reaches Python internals")
        if isinstance(node, _REFUSED_TAGS):
            raise ValueError(f"{part}: refused: a template cannot load other templates")
    return ENVIRONMENT.from_string(tree)


def check(name: str, source: TemplateSource) -> None:
    """TemplateError if `source` would be refused at load (a syntax error, a reach for internals)."""
    Templates({name: source})


def _render(template: jinja2.Template, part: str, variables: dict[str, Any], limit: int) -> str:
    """One part rendered, at most `limit` characters, or ValueError("<part>: <why>")."""
    out: list[str] = []
    length = 0
    try:
        for chunk in template.generate(variables):
            length += len(chunk)
            if length > limit:
                raise ValueError(f"longer than {limit} characters")
            out.append(chunk)
    except jinja2.TemplateError as exc:  # an undefined variable, a refused attribute or call
        raise ValueError(f"{part}: {exc.message or type(exc).__name__}") from None
    except ValueError as exc:
        raise ValueError(f"{part}: {exc}") from None
    except Exception as exc:  # a template is code: whatever else it raises is its error
        raise ValueError(f"{part}: {type(exc).__name__}: {exc}") from None
    return "".join(out)


class Templates:
    """The predefined templates and the configured ones (which may replace a predefined one by name)."""

    def __init__(self, configured: Mapping[str, TemplateSource] | None = None) -> None:
        self._compiled: dict[str, tuple[jinja2.Template, jinja2.Template]] = {}
        for name, source in {**PREDEFINED, **(configured or {})}.items():
            try:
                self._compiled[name] = (_compile("subject", source.subject), _compile("text", source.text))
            except ValueError as exc:
                raise TemplateError(name, str(exc)) from None

    def names(self) -> list[str]:
        return sorted(self._compiled)

    def render(self, name: str, data: Mapping[str, Any]) -> tuple[str, str]:
        """(subject, text) of template `name` with `data`, or TemplateError naming the template and why."""
        compiled = self._compiled.get(name)
        if compiled is None:
            raise TemplateError(name, f"no such template (there are: {', '.join(self.names())})")
        subject_template, text_template = compiled
        variables = dict(data)
        try:
            subject = _render(subject_template, "subject", variables, MAX_SUBJECT_CHARACTERS)
            text = _render(text_template, "text", variables, MAX_TEXT_CHARACTERS)
        except ValueError as exc:
            raise TemplateError(name, str(exc)) from None
        subject = " ".join(subject.split())  # one line, whatever the template's layout
        if not (subject or text.strip()):
            raise TemplateError(name, "renders an empty subject and text")
        return subject, text
