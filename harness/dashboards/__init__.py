"""Dashboards of spec §4 as code: catalogue model, Grafana JSON, and checks that panels show data.

Kept import-light on purpose: `harness.catalog` imports `harness.dashboards.model`, so this
package's `__init__` must not import modules that import the catalogue back.
"""
