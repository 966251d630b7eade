"""A Prometheus host exporter with node_exporter's metric names, for servers and Raspberry Pis."""

__version__ = "0.1.0"
