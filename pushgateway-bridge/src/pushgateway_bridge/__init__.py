"""pushgateway-bridge: the seeds' monitoring APIs into Pushgateway, Alertmanager and Loki."""

__version__ = "0.1.0"
