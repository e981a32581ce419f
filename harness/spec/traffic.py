"""The load of a scenario: Locust tasks and their weights, at a constant throughput."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, PositiveFloat, PositiveInt

from harness.spec.fields import StrictModel


class Task(StrEnum):
    """Locust tasks the load generator knows (harness/load/locustfile.py)."""

    STUDIO_READ = "studio_read"  # GET /v1/automations
    STUDIO_WRITE = "studio_write"  # POST /v1/automations (calls the WRK Platform)
    VERSION_WRITE = "version_write"  # POST /v1/automation-versions (enqueues a build)
    ADMIN_READ = "admin_read"  # GET /v1/admin/clients
    ADMIN_WRITE = "admin_write"  # POST /v1/admin/quotes
    QUOTE_SIGN = "quote_sign"  # a quote sent and signed: enqueues a notification
    BAD_KEY = "bad_key"  # an unknown API key from one source address: 401s
    WEBHOOK_BAD_SIGNATURE = "webhook_bad_signature"  # a run event signed with the wrong secret


class Load(StrictModel):
    """Constant-throughput Locust load, running from warm-up to the end of recovery."""

    users: PositiveInt
    """Number of Locust users."""
    rate_per_user: PositiveFloat
    """Requests per second each user sends (constant throughput)."""
    mix: dict[Task, PositiveInt] = Field(min_length=1)
    """Task weights, e.g. {studio_read: 4, studio_write: 1}."""
