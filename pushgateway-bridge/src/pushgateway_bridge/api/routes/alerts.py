"""The System Service's alert API: alerts made over it become Prometheus alerting rules (alerts/), and
every rule Prometheus evaluates can be read here; the history is what Alertmanager sent the receiver.

Keys: reading needs a key with `read`, and shows only the rules and history entries of the services its
`services` globs match (one of no service concerns every service: only `*` sees it); creating, changing
and deleting an alert needs a `services` scope covering the alert's `service` (an alert without one needs
`services: ["*"]`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor

from pushgateway_bridge.alerts.models import AlertRequest, Comparison, Labels, SeverityField
from pushgateway_bridge.alerts.rulefile import RuleCheckUnavailable, RuleFileRejected
from pushgateway_bridge.alerts.service import AlertNotFound, AlertService
from pushgateway_bridge.alerts.views import SOURCES, STATES, api_view, matches, rule_views
from pushgateway_bridge.api.deps import BridgeDep, PrincipalDep
from pushgateway_bridge.api.responses import BODY, SCOPED, answers
from pushgateway_bridge.api.routes.common import answer, invalid, unavailable
from pushgateway_bridge.auth import Principal
from pushgateway_bridge.domain.models.fields import NAME, Instant, Number
from pushgateway_bridge.notifications.from_alerts import ALERT_EVENT
from pushgateway_bridge.queries.prometheus import PrometheusUnavailable
from pushgateway_bridge.storage.records import Body, Page

router = APIRouter(prefix="/api/alerts", tags=["alerts"])


class AlertIdConvertor(Convertor[str]):
    """An alert id: any path segment but `history`, which is the history's own path (so `Allow` there
    says GET only, and no alert is ever read as `history`)."""

    regex = "(?!history/?$)[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("alert_id", AlertIdConvertor())
UNAVAILABLE = "Prometheus is not reachable (or `prometheus_url` is not set): the rules cannot be read"
CHECK_UNAVAILABLE = "promtool did not answer: the rule could not be checked, nothing was changed"
AlertId = Annotated[str, Field(min_length=1, max_length=200)]
Window = tuple[Instant | None, Instant | None]  # since, until


class AlertChanges(BaseModel):
    """PUT: the fields to change; fields left out keep their value."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: NAME | None = None
    description: str | None = Field(default=None, max_length=2000)
    severity: SeverityField | None = None
    service: NAME | None = None
    threshold: Number | None = None
    metric: str | None = None
    expr: str | None = Field(default=None, min_length=1, max_length=10000)
    comparison: Comparison | None = None
    for_: str | None = Field(default=None, alias="for")
    labels: Labels | None = None
    runbook_url: str | None = Field(default=None, max_length=2000)


def _unprocessable(field: str | None, message: str) -> RequestValidationError:
    loc = ("body", field) if field else ("body",)
    return invalid(loc, message)


def _service(bridge: BridgeDep) -> AlertService:
    return bridge.alerts


def _live(alerts: AlertService) -> list[Body]:
    if alerts.prometheus is None:
        raise unavailable("prometheus_url is not set: the bridge reads the rules from Prometheus")
    try:
        return rule_views(alerts.prometheus.rule_groups(), alerts.rule_file)
    except PrometheusUnavailable as exc:
        raise unavailable(str(exc)) from None


def _require_write(principal: Principal, service: str | None) -> None:
    principal.require_service(service or "*", "alerts of service")


@router.get(
    "",
    summary="Every alerting rule Prometheus evaluates, with its state",
    responses=answers(*SCOPED, 422, 503, _503=UNAVAILABLE),
)
async def list_alerts(  # noqa: PLR0917 (FastAPI reads the query parameters from the signature)
    bridge: BridgeDep,
    principal: PrincipalDep,
    service: Annotated[str | None, Query(max_length=200)] = None,
    severity: Annotated[str | None, Query(max_length=200)] = None,
    state: Annotated[str | None, Query(pattern=f"^({'|'.join(STATES)})$")] = None,
    source: Annotated[str | None, Query(pattern=f"^({'|'.join(SOURCES)})$")] = None,
) -> JSONResponse:
    principal.require_read()
    views = await run_in_threadpool(_live, bridge.alerts)
    return answer(
        {
            "alerts": [
                view
                for view in views
                if matches(view, service, severity, state, source)
                and principal.may_see_service(view["labels"].get("service"))
            ]
        }
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create an alert: it becomes a Prometheus alerting rule",
    responses=answers(*SCOPED, *BODY, 503, _503=CHECK_UNAVAILABLE),
)
async def create(body: AlertRequest, bridge: BridgeDep, principal: PrincipalDep) -> JSONResponse:
    _require_write(principal, body.service)
    try:
        made = await run_in_threadpool(bridge.alerts.create, body)
    except RuleCheckUnavailable as exc:
        raise unavailable(str(exc)) from None
    except RuleFileRejected as exc:
        raise _unprocessable("expr" if body.expr else None, f"Prometheus refused the rule: {exc}") from None
    return answer(_created(made), status.HTTP_201_CREATED)


def _created(made: Body) -> Body:
    return {key: made[key] for key in ("id", "status", "metric", "inferred", "rule")}


@router.get(
    "/history",
    summary="Every firing and resolution Alertmanager sent, newest first",
    responses=answers(*SCOPED, 422),
)
async def history(  # noqa: PLR0917 (FastAPI reads the query parameters from the signature)
    bridge: BridgeDep,
    principal: PrincipalDep,
    alertname: Annotated[str | None, Query(max_length=200)] = None,
    service: Annotated[str | None, Query(max_length=200)] = None,
    severity: Annotated[str | None, Query(max_length=200)] = None,
    since: Annotated[Instant | None, Query()] = None,
    until: Annotated[Instant | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> JSONResponse:
    principal.require_read()
    fields = {"alertname": alertname, "service": service, "severity": severity}
    return answer(await run_in_threadpool(_history, bridge, principal, fields, (since, until), limit))


def _history(
    bridge: BridgeDep, principal: Principal, fields: dict[str, str | None], window: Window, limit: int
) -> Body:
    """Newest first; a key limited to some services gets a full page of theirs, read page by page past
    the entries it may not see."""
    keep = ("status", "alertname", "service", "severity", "starts_at", "ends_at", "duration_seconds")
    events: list[dict[str, Any]] = []
    since, until = window
    before = (until.timestamp(), "") if until else None
    while len(events) < limit:
        query = Page(
            ALERT_EVENT,
            fields={key: value for key, value in fields.items() if value is not None},
            since=since.timestamp() if since else None,
            before=before,
            limit=limit,
        )
        rows = bridge.storage.records(query)
        events.extend(
            {"key": key, **{name: body.get(name) for name in (*keep, "labels", "annotations")}}
            for _, key, body in rows
            if principal.may_see_service(body.get("service"))
        )
        if len(rows) < limit:
            break
        before = (rows[-1][0], rows[-1][1])
    return {"events": events[:limit]}


@router.get(
    "/{alert_id:alert_id}", summary="One alert", responses=answers(*SCOPED, 404, 422, 503, _503=UNAVAILABLE)
)
async def one(alert_id: AlertId, bridge: BridgeDep, principal: PrincipalDep) -> JSONResponse:
    principal.require_read()
    return answer(await run_in_threadpool(_one, bridge.alerts, alert_id, principal))


def _one(alerts: AlertService, alert_id: str, principal: Principal) -> Body:
    missing = HTTPException(status.HTTP_404_NOT_FOUND, f"no alert '{alert_id}'")
    try:
        stored = alerts.stored(alert_id)
    except AlertNotFound:
        for view in _live(alerts):
            if view["id"] == alert_id and principal.may_see_service(view["labels"].get("service")):
                return view
        raise missing from None
    if not principal.may_see_service(stored["request"].get("service")):
        raise missing  # as for an id that does not exist: a key learns nothing of other teams' alerts
    try:
        views = rule_views(alerts.prometheus.rule_groups(), alerts.rule_file) if alerts.prometheus else []
    except PrometheusUnavailable:
        views = []
    return api_view(stored, next((view for view in views if view["id"] == alert_id), None))


def _api_alert(alerts: AlertService, alert_id: str, principal: Principal) -> Body:
    """The stored API alert, or 409 for a rule of monitoring.yml, 404 for none."""
    try:
        stored = alerts.stored(alert_id)
    except AlertNotFound:
        for view in _live(alerts) if ":" in alert_id else []:
            if view["id"] == alert_id:
                raise HTTPException(
                    status.HTTP_409_CONFLICT,
                    f"alert '{alert_id}' is defined in {view['defined_in']}, rendered by `make rules` from"
                    " monitoring.yml: change it there",
                ) from None
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert '{alert_id}'") from None
    _require_write(principal, stored["request"].get("service"))
    return stored


@router.put(
    "/{alert_id:alert_id}",
    summary="Change an API alert",
    responses=answers(*SCOPED, *BODY, 404, 409, 503, _503=f"{UNAVAILABLE}; or {CHECK_UNAVAILABLE}"),
)
async def change(
    alert_id: AlertId, body: AlertChanges, bridge: BridgeDep, principal: PrincipalDep
) -> JSONResponse:
    await run_in_threadpool(_api_alert, bridge.alerts, alert_id, principal)
    changes = body.model_dump(mode="json", by_alias=True, exclude_unset=True)
    if "service" in changes:
        _require_write(principal, changes["service"])
    try:
        changed = await run_in_threadpool(bridge.alerts.update, alert_id, changes)
    except RuleCheckUnavailable as exc:
        raise unavailable(str(exc)) from None
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False)
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in errors]
        ) from None
    except RuleFileRejected as exc:
        raise _unprocessable(None, f"Prometheus refused the rule: {exc}") from None
    except AlertNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert '{alert_id}'") from None
    return answer(_created(changed))


@router.delete(
    "/{alert_id:alert_id}",
    summary="Delete an API alert",
    responses=answers(*SCOPED, 404, 409, 422, 503, _503=f"{UNAVAILABLE}; or {CHECK_UNAVAILABLE}"),
)
async def delete(alert_id: AlertId, bridge: BridgeDep, principal: PrincipalDep) -> JSONResponse:
    await run_in_threadpool(_api_alert, bridge.alerts, alert_id, principal)
    try:
        deleted = await run_in_threadpool(bridge.alerts.delete, alert_id)
    except RuleCheckUnavailable as exc:
        raise unavailable(str(exc)) from None
    except AlertNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert '{alert_id}'") from None
    except RuleFileRejected as exc:
        raise _unprocessable(None, f"Prometheus refused the rules: {exc}") from None
    return answer({"id": alert_id, "status": deleted["status"], "deleted": True})


@router.get(
    "/{alert_id:alert_id}/history",
    summary="The firings and resolutions of one API alert",
    responses=answers(*SCOPED, 404, 422),
)
async def alert_history(
    alert_id: AlertId,
    bridge: BridgeDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> JSONResponse:
    principal.require_read()
    stored = bridge.storage.record("api_alert", alert_id)
    if stored is None or not principal.may_see_service(stored["request"].get("service")):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no API alert '{alert_id}'")
    fields: dict[str, str | None] = {"labels.alert_id": alert_id}
    return answer(await run_in_threadpool(_history, bridge, principal, fields, (None, None), limit))
