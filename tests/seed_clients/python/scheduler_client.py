# ruff: noqa
# mypy: ignore-errors
# fmt: off
"""The scheduler monitoring API's Python client, copied verbatim from the seed (its usage example left out).

Source: shared/seeds/scheduler-monitoring-api-usage-guide.md, section "Python Integration Example".
"""

import requests
import time
from datetime import datetime
from typing import Optional, Dict, Any

class SchedulerMonitoringClient:
    def __init__(self, api_url: str, api_key: str, scheduler_id: str):
        self.api_url = api_url
        self.api_key = api_key
        self.scheduler_id = scheduler_id
        self.headers = {
            'x-api-key': api_key,
            'Content-Type': 'application/json'
        }

    def register(self, service_name: str, job_name: str, owner_email: Optional[str] = None):
        url = f"{self.api_url}/schedulers/register"
        payload = {
            'scheduler_id': self.scheduler_id,
            'service_name': service_name,
            'job_name': job_name,
            'owner_email': owner_email
        }
        response = requests.post(url, json=payload, headers=self.headers)
        response.raise_for_status()
        return response.json()

    def update_status(
        self,
        status: str,
        service_name: str,
        job_name: str,
        execution_time_ms: Optional[int] = None,
        error_message: Optional[str] = None,
        metadata: Optional[Dict[str, Any]] = None
    ):
        url = f"{self.api_url}/schedulers/{self.scheduler_id}/status"
        payload = {
            'scheduler_id': self.scheduler_id,
            'service_name': service_name,
            'job_name': job_name,
            'status': status,
            'timestamp': datetime.utcnow().isoformat() + 'Z',
            'execution_time_ms': execution_time_ms,
            'error_message': error_message,
            'metadata': metadata
        }
        response = requests.put(url, json=payload, headers=self.headers)
        response.raise_for_status()
        return response.json()

    def send_heartbeat(self):
        url = f"{self.api_url}/schedulers/{self.scheduler_id}/heartbeat"
        payload = {'scheduler_id': self.scheduler_id}
        response = requests.post(url, json=payload, headers=self.headers)
        response.raise_for_status()
        return response.json()
