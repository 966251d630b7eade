"""The host exporter's tests (package `exporter`, beside `rules`, `grafana`, `sdk`, so that its helper modules
and conftest have names of their own)."""
