"""Prometheus HTTP service discovery (`http_sd_configs`): the registered climate services' endpoints,
which Prometheus' `endpoints` job probes through the blackbox exporter.

The format is Prometheus': a JSON list of `{"targets": [...], "labels": {...}}`, 200 with `[]` when there
is nothing to probe (https://prometheus.io/docs/prometheus/latest/http_sd/). Prometheus reads it with a
key (`authorization` in the scrape job) whose scope has `read`, and sees the services its globs cover.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from pushgateway_bridge.api.deps import BridgeDep, PrincipalDep
from pushgateway_bridge.api.responses import SCOPED, answers
from pushgateway_bridge.domain.endpoints import LeftOut, probe_targets
from pushgateway_bridge.domain.kinds import SERVICE

router = APIRouter(prefix="/api/v1/sd", tags=["service discovery"])
log = logging.getLogger(__name__)
LEFT_OUT_HEADER = "X-Endpoints-Left-Out"
# Prometheus asks every refresh_interval: say once per process which endpoint is left out and why.
_reported: set[LeftOut] = set()


class TargetGroup(BaseModel):
    """One service's endpoint: `targets` the URL (the probe's target), `labels` what every probe series
    of it carries."""

    targets: list[str] = Field(min_length=1, max_length=1)
    labels: dict[str, str]


FORBIDDEN = "The key's scope has no `read`"
OK: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The probe targets, `[]` when none",
        "headers": {
            LEFT_OUT_HEADER: {
                "description": "How many endpoints of the key's services are not http(s) URLs that can be "
                "probed, and so are not listed (the bridge logs each one's reason once)",
                "required": True,
                "schema": {"type": "integer", "minimum": 0},
            }
        },
    }
}


@router.get(
    "/endpoints",
    summary="The climate services' endpoints, for Prometheus' http_sd_configs",
    response_model=list[TargetGroup],
    responses={**OK, **answers(*SCOPED, _403=FORBIDDEN)},
)
async def endpoints(bridge: BridgeDep, principal: PrincipalDep) -> JSONResponse:
    principal.require_read()
    readable = re.compile(principal.readable_services_regex())  # the same scope the query API applies
    # A thread: the PostgreSQL storage reads the services from the database.
    services = await run_in_threadpool(bridge.storage.entities, SERVICE)
    probed, left_out = probe_targets(services, lambda name: readable.fullmatch(name) is not None)
    for skipped in left_out:
        if skipped not in _reported:
            _reported.add(skipped)
            log.warning("service %r: endpoint not probed: %s", skipped.service, skipped.reason)
    groups = [{"targets": [target.url], "labels": {"service": target.service}} for target in probed]
    return JSONResponse(groups, headers={LEFT_OUT_HEADER: str(len(left_out))})
