"""A strict Teams Workflows webhook ("When a Teams webhook request is received").

The URL is a flow's: `/workflows/<id>/triggers/manual/paths/invoke?api-version=...&sig=<signature>`; a wrong
or missing `sig` is 401, another path 404. The body must be a Workflows message: `{"type": "message",
"attachments": [...]}`, each attachment `contentType` `application/vnd.microsoft.card.adaptive` with an
AdaptiveCard `content` of a version Teams renders (1.0 to 1.5), a `body` list of elements that each have
a `type` (a TextBlock a string `text`), else 400 with a Logic Apps-like error. Accepted: 202, empty body.
"""

from __future__ import annotations

from typing import Any

from fakes.http import Answer, FakeHttpServer, Request

CARD_VERSIONS = {"1.0", "1.1", "1.2", "1.3", "1.4", "1.5"}
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"


class Refused(Exception):
    pass


def check_workflows_message(body: Any) -> list[dict[str, Any]]:
    """The cards of a Workflows message, or Refused saying why Teams would not post it."""
    if not isinstance(body, dict) or body.get("type") != "message":
        raise Refused('the body must be an object with "type": "message"')
    attachments = body.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        raise Refused('"attachments" must be a non-empty list')
    cards = []
    for attachment in attachments:
        if not isinstance(attachment, dict) or attachment.get("contentType") != CARD_CONTENT_TYPE:
            raise Refused(f"each attachment must have contentType {CARD_CONTENT_TYPE}")
        card = attachment.get("content")
        if not isinstance(card, dict) or card.get("type") != "AdaptiveCard":
            raise Refused('an attachment\'s content must be an AdaptiveCard ("type": "AdaptiveCard")')
        if card.get("version") not in CARD_VERSIONS:
            raise Refused(f"unsupported AdaptiveCard version {card.get('version')!r}")
        elements = card.get("body")
        if not isinstance(elements, list) or not all(isinstance(e, dict) and "type" in e for e in elements):
            raise Refused("an AdaptiveCard body must be a list of elements, each with a type")
        for element in elements:
            if element["type"] == "TextBlock" and not isinstance(element.get("text"), str):
                raise Refused("a TextBlock needs a string text")
        cards.append(card)
    return cards


class TeamsFake(FakeHttpServer):
    path = "/workflows/0123abcd/triggers/manual/paths/invoke"

    def __init__(self, sig: str = "flow-signature") -> None:
        super().__init__()
        self.sig = sig

    def webhook_url(self, sig: str | None = None) -> str:
        signature = self.sig if sig is None else sig
        return f"{self.url}{self.path}?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={signature}"

    def answer(self, request: Request) -> Answer:
        if request.path != self.path:
            return logic_apps_error(404, "WorkflowNotFound", "The workflow could not be found.")
        if request.query.get("sig") != [self.sig]:
            return logic_apps_error(
                401, "DirectApiInvalidAuthorizationSignature", "The provided signature is not valid."
            )
        if request.content_type != "application/json":
            return logic_apps_error(
                400, "InvalidRequestContent", "The content type must be application/json."
            )
        try:
            cards = check_workflows_message(request.json())
        except ValueError:
            return logic_apps_error(400, "InvalidRequestContent", "The request content is not valid JSON.")
        except Refused as refusal:
            return logic_apps_error(400, "InvalidRequestContent", str(refusal))
        for card in cards:
            self.accept(card)
        return Answer(202)


def logic_apps_error(status: int, code: str, message: str) -> Answer:
    return Answer.json(status, {"error": {"code": code, "message": message}})
