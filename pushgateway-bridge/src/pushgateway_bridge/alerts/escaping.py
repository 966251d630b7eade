"""Values from a request made safe for the two languages a rule speaks: PromQL and Go's text/template.

A PromQL string literal is a Go-style double-quoted string; JSON's escapes (\\", \\\\, \\n, \\uXXXX) are a
subset of what the PromQL lexer reads, so json.dumps gives a literal no value can close early. Rule labels
and annotations are Go templates expanded at every evaluation: only `{{` opens an action, so printing it
as the template `{{ "{{" }}` makes any text literal.
"""

from __future__ import annotations

import json

_OPEN = "{{"
_LITERAL_OPEN = '{{ "{{" }}'


def promql_string(value: str) -> str:
    """`value` as a PromQL string literal, quotes included."""
    return json.dumps(value, ensure_ascii=False)


def template_text(value: str) -> str:
    """`value` as a Go template that expands to exactly `value`."""
    return value.replace(_OPEN, _LITERAL_OPEN)
