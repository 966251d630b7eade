"""Monitor batch jobs: started/finished/failed events to the pushgateway bridge, spans to Tempo.

from monitoring_sdk import AppRef, Monitored, SidecarEmitter
app = AppRef(app_id=uuid4(), name='my-app', version='1.0.0')
emitter = SidecarEmitter(base_url='http://localhost:17000')
with Monitored(site_id='site1', app=app, entity_type='job', business_key='daily-batch', emitter=emitter):
    process_data()
"""

from monitoring_sdk.clients import ApiError, ClimateClient, SchedulerClient
from monitoring_sdk.emitter import DeliveryError, EmitterStats, SidecarEmitter
from monitoring_sdk.models import AppRef, Event
from monitoring_sdk.monitored import Monitored, current, default_emitter, progress
from monitoring_sdk.system_monitor import SystemMonitor
from monitoring_sdk.tracing import configure_tracing

__version__ = "0.4.0"
__all__ = [
    "ApiError",
    "AppRef",
    "ClimateClient",
    "DeliveryError",
    "EmitterStats",
    "Event",
    "Monitored",
    "SchedulerClient",
    "SidecarEmitter",
    "SystemMonitor",
    "configure_tracing",
    "current",
    "default_emitter",
    "progress",
]
