"""The load of a scenario: Locust tasks and their weights, at a constant throughput."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from harness.spec.fields import StrictModel, within

# One Locust process offers about 5-9k requests/s on 2 cores (DESIGN.md); users are greenlets.
MAX_USERS = 10_000
MAX_RATE_PER_USER = 1000.0  # a request every millisecond
MIN_RATE_PER_USER = 0.001  # a request every 1000 s
# Locust repeats a task `weight` times in every user's task list.
MAX_WEIGHT = 100


class Task(StrEnum):
    """Locust tasks the load generator knows (harness/load/locustfile.py)."""

    STUDIO_READ = "studio_read"  # GET /v1/automations
    STUDIO_WRITE = "studio_write"  # POST /v1/automations (calls the WRK Platform)
    VERSION_WRITE = "version_write"  # POST /v1/automation-versions (enqueues a build)
    # The previous version archived (core deactivates its workflow on the WRK Platform), then a
    # new one created (a build).
    VERSION_ARCHIVE = "version_archive"
    ADMIN_READ = "admin_read"  # GET /v1/admin/clients
    ADMIN_WRITE = "admin_write"  # POST /v1/admin/quotes
    QUOTE_SIGN = "quote_sign"  # a quote sent and signed: enqueues a notification
    BAD_KEY = "bad_key"  # an unknown API key from one source address: 401s
    WEBHOOK_BAD_SIGNATURE = "webhook_bad_signature"  # a run event signed with the wrong secret


class Load(StrictModel):
    """Constant-throughput Locust load, running from warm-up to the end of recovery."""

    users: Annotated[int, within(1, MAX_USERS), Field(ge=1, le=MAX_USERS)]
    """Number of Locust users."""
    rate_per_user: Annotated[
        float,
        within(MIN_RATE_PER_USER, MAX_RATE_PER_USER),
        Field(ge=MIN_RATE_PER_USER, le=MAX_RATE_PER_USER),
    ]
    """Requests per second each user sends (constant throughput)."""
    mix: dict[Task, Annotated[int, within(1, MAX_WEIGHT), Field(ge=1, le=MAX_WEIGHT)]] = Field(
        min_length=1
    )
    """Task weights, e.g. {studio_read: 4, studio_write: 1}."""
