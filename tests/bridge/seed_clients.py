# ruff: noqa
# mypy: ignore-errors
# fmt: off
"""The seeds' Python clients, copied verbatim (classes only; the seeds' endless usage loops are left out).

Sources: shared/seeds/climate-system-monitor-integration-guide.md and
shared/seeds/scheduler-monitoring-api-usage-guide.md, section "Python Integration Example".
"""

# --- climate-system-monitor-integration-guide.md ---
import requests
import psutil
import time

class SystemMonitorClient:
    def __init__(self, base_url, service_name, api_key=None):
        self.base_url = base_url.rstrip('/')
        self.service_name = service_name
        self.headers = {
            'Content-Type': 'application/json'
        }
        if api_key:
            self.headers['Authorization'] = f'Bearer {api_key}'

    def update_status(self, status='up', endpoint=None):
        """Update service status"""
        data = {
            'name': self.service_name,
            'status': status
        }
        if endpoint:
            data['endpoint'] = endpoint
        
        response = requests.post(
            f'{self.base_url}/services/',
            json=data,
            headers=self.headers
        )
        return response.json()

    def send_metrics(self):
        """Send system metrics"""
        metrics = {
            'cpu': psutil.cpu_percent(),
            'memory': psutil.virtual_memory().percent,
            'disk': psutil.disk_usage('/').percent
        }
        
        for metric_type, value in metrics.items():
            data = {
                'service': self.service_name,
                'metric_type': metric_type,
                'value': value
            }
            requests.post(
                f'{self.base_url}/metrics/',
                json=data,
                headers=self.headers
            )

    def update_pipeline(self, pipeline_type, status, metadata=None):
        """Update pipeline status"""
        data = {
            'pipeline_type': pipeline_type,
            'status': status
        }
        if metadata:
            data['metadata'] = metadata
            
        response = requests.post(
            f'{self.base_url}/pipelines/',
            json=data,
            headers=self.headers
        )
        return response.json()

    def send_alert(self, title, message, severity=1):
        """Send an alert"""
        data = {
            'title': title,
            'message': message,
            'severity': severity,
            'service': self.service_name
        }
        response = requests.post(
            f'{self.base_url}/alerts/',
            json=data,
            headers=self.headers
        )
        return response.json()


# --- scheduler-monitoring-api-usage-guide.md ---
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
