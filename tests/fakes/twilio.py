"""A strict Twilio Messages API: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`.

HTTP Basic auth AccountSid:AuthToken, the path's account being the authenticated one (else 401, code
20003); a form body (`application/x-www-form-urlencoded`); `To` and `From` in E.164 (else 400, 21211 and
21212); a `Body` of 1 to 1,600 characters (21602, 21617). Accepted: 201 with the message's JSON (`sid`
SM + 32 hex digits, `status` "queued"). Errors are Twilio's JSON: `{"code", "message", "more_info",
"status"}`.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import re
from dataclasses import dataclass

from fakes.http import Answer, FakeHttpServer, Refuse, Request

E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
MAX_BODY = 1600


@dataclass(frozen=True)
class Sms:
    sid: str
    to: str
    from_: str
    body: str


class TwilioFake(FakeHttpServer):
    def __init__(self, account_sid: str = "AC" + "0" * 31 + "1", auth_token: str = "twilio-token") -> None:
        super().__init__()
        self.account_sid, self.auth_token = account_sid, auth_token
        self.sids = itertools.count(1)

    def answer(self, request: Request) -> Answer:
        if request.path != f"/2010-04-01/Accounts/{self.account_sid}/Messages.json":
            raise Refuse(twilio_error(404, 20404, "The requested resource was not found"))
        if basic_auth(request) != (self.account_sid, self.auth_token):
            raise Refuse(twilio_error(401, 20003, "Authenticate"))
        if request.content_type != "application/x-www-form-urlencoded":
            raise Refuse(twilio_error(400, 21000, "The request must be form-encoded"))
        try:
            form = {name: values[-1] for name, values in request.form().items()}
        except ValueError:
            raise Refuse(twilio_error(400, 21000, "The request body is not a valid form")) from None
        to, from_, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
        if not E164.match(to):
            raise Refuse(twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number."))
        if not E164.match(from_):
            raise Refuse(twilio_error(400, 21212, f"The 'From' number {from_} is not a valid phone number."))
        if not body:
            raise Refuse(twilio_error(400, 21602, "Message body is required."))
        if len(body) > MAX_BODY:
            raise Refuse(
                twilio_error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
            )
        sid = f"SM{next(self.sids):032x}"
        self.accept(Sms(sid, to, from_, body))
        return Answer.json(
            201,
            {
                "sid": sid,
                "account_sid": self.account_sid,
                "to": to,
                "from": from_,
                "body": body,
                "status": "queued",
                "num_segments": str(-(-len(body) // 153)),
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            },
        )


def basic_auth(request: Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def twilio_error(status: int, code: int, message: str) -> Answer:
    more_info = f"https://www.twilio.com/docs/errors/{code}"
    return Answer.json(status, {"code": code, "message": message, "more_info": more_info, "status": status})
