"""The parts of `make run` (scripts/run.py): paths and ports, processes, configuration files."""
