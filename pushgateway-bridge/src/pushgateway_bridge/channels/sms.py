"""SMS through Twilio's Messages API (or a Twilio-compatible one).

POST `{base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json`, form fields `To`, `From`, `Body`, HTTP
Basic auth AccountSid:AuthToken. Success is 201 with the message as JSON (`sid` "SM...", `status`
"queued"); errors are JSON `{"code": 21211, "message": "...", "more_info": "...", "status": 400}`:
400 (e.g. 21211, an invalid `To`: permanent for that number), 401 (20003: the credentials), 429 (20429).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from pushgateway_bridge.channels.base import Message, check_answer, cut, no_answer, require_http_url

TWILIO_BASE_URL = "https://api.twilio.com"
MAX_BODY_CHARACTERS = 1600  # Twilio refuses longer bodies (error 21617)


@dataclass(frozen=True)
class TwilioAccount:
    account_sid: str
    auth_token: str
    from_number: str  # E.164, e.g. +15550100
    base_url: str = TWILIO_BASE_URL

    def messages_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/2010-04-01/Accounts/{self.account_sid}/Messages.json"


def sms_text(webhook: dict[str, Any], max_length: int) -> str:
    """An Alertmanager webhook as one line: status, then each alert's summary and where it is."""
    status = str(webhook.get("status", "firing")).upper()
    parts = []
    for alert in webhook.get("alerts") or []:
        labels = alert.get("labels") or {}
        summary = (alert.get("annotations") or {}).get("summary") or labels.get("alertname", "alert")
        where = labels.get("service") or labels.get("scheduler_id") or labels.get("instance") or ""
        parts.append(f"{summary}{' (' + where + ')' if where else ''}")
    return cut(f"{status}: " + "; ".join(parts), max_length)


def message_text(message: Message, max_length: int) -> str:
    return cut(message.line(), max_length)


def post_sms(client: httpx.Client, account: TwilioAccount, to: str, body: str, what: str) -> None:
    form = {"To": to, "From": account.from_number, "Body": body}
    try:
        response = client.post(
            account.messages_url(), data=form, auth=(account.account_sid, account.auth_token)
        )
    except httpx.HTTPError as exc:
        raise no_answer(exc, what) from None
    if not response.is_success:
        what += twilio_error_code(response)
    check_answer(response, what)


def twilio_error_code(response: httpx.Response) -> str:
    """Twilio's error code, named up front: it is what Twilio's documentation lists."""
    try:
        code = response.json().get("code")
    except (ValueError, AttributeError):
        return ""
    return f" (Twilio error {code})" if code else ""


class SmsChannel:
    """Text messages to phone numbers (E.164), `subject: text` cut to `max_length` characters."""

    name = "sms"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str,
        base_url: str = TWILIO_BASE_URL,
        max_length: int = MAX_BODY_CHARACTERS,
        timeout: float = 10.0,
    ) -> None:
        if not 0 < max_length <= MAX_BODY_CHARACTERS:
            raise ValueError(f"sms max_length: must be 1 to {MAX_BODY_CHARACTERS}, not {max_length}")
        self.account = TwilioAccount(
            account_sid, auth_token, from_number, require_http_url("sms base_url", base_url)
        )
        self.max_length = max_length
        self.client = httpx.Client(timeout=timeout)

    def send(self, message: Message, address: str) -> None:
        post_sms(self.client, self.account, address, message_text(message, self.max_length), f"sms {address}")

    def close(self) -> None:
        self.client.close()
