"""The cases of `test_alert_rules.py`, one module per area of alerts; every alert has a case where it fires
(with its exact labels and annotations) and one where it stays silent."""

from rules.alert_cases.bridge import BRIDGE_CASES
from rules.alert_cases.case import Case
from rules.alert_cases.endpoints import ENDPOINT_CASES
from rules.alert_cases.hosts import HOST_CASES
from rules.alert_cases.scheduler_runs import SCHEDULER_RUN_CASES
from rules.alert_cases.scheduler_schedules import SCHEDULER_SCHEDULE_CASES
from rules.alert_cases.services_and_pipelines import SERVICE_AND_PIPELINE_CASES

ALL_CASES: list[Case] = (
    HOST_CASES
    + SCHEDULER_RUN_CASES
    + SCHEDULER_SCHEDULE_CASES
    + SERVICE_AND_PIPELINE_CASES
    + BRIDGE_CASES
    + ENDPOINT_CASES
)

__all__ = ["ALL_CASES", "Case"]
