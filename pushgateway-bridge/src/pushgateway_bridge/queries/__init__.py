"""The read side of the System Service: one small client per backend (Prometheus, Loki, Tempo), which owns
its query language, escaping included, and the answers built from it; routes never write a query."""
