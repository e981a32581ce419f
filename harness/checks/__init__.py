"""Verdicts: measured facts in, one `Check` each out, every one able to fail.

One module per family: alerts (fired, delivered, resolved, quiet), SLOs, the evidence of
logs, error codes, request-id correlation, traces, metrics and secrets, dashboards, and the
suite's alert coverage. Result types are in `results`, which the runner imports too.
"""
