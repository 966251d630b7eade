# ruff: noqa
# mypy: ignore-errors
# fmt: off
"""The climate system monitor's Python client, copied verbatim from the seed (its usage loop left out).

Source: shared/seeds/climate-system-monitor-integration-guide.md, section "Python Integration Example".
"""

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
