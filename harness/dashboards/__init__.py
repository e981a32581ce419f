"""Dashboards of spec §4 as code: catalogue model, Grafana JSON, the panels a scenario checks
(the checks themselves are in `harness.checks.dashboards`).

Kept import-light on purpose: `harness.spec.catalog` imports `harness.dashboards.model`, so this
package's `__init__` must not import modules that import the catalogue back.
"""
