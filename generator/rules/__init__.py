"""Prometheus rule files, one module per area; each returns its file's rule groups."""
