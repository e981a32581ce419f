"""Route templates, shared by the services' routers and by metrics labelling.

Metrics and logs carry the template (`/v1/automation-versions/{id}`), never the raw path, so
label cardinality stays bounded. The edge labels forwarded requests with core's templates, which
is why the table lives here rather than inside core.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

UNMATCHED = "unmatched"

_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ANYTHING = re.compile(r".*", re.DOTALL)


def _regex(template: str, *, named: bool) -> str:
    parts = _PARAM.split(template)
    # split() alternates literal text and parameter names: even indexes are literals.
    return "".join(
        re.escape(p) if i % 2 == 0 else (f"(?P<{p}>[^/]+)" if named else "[^/]+")
        for i, p in enumerate(parts)
    )


def _compile(template: str) -> re.Pattern[str]:
    return re.compile(_regex(template, named=True))


def _alternation(templates: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern for the whole table, group i+1 being template i: the regex engine tries the
    alternatives in order, as `resolve` must, at a fraction of the cost of a loop of matches."""
    branches = "|".join(f"({_regex(t, named=False)})" for t in templates)
    return re.compile(branches or r"(?!)")


@dataclass(frozen=True)
class RouteTable:
    """Templates in match order: put literal routes before parameterised ones they overlap."""

    templates: tuple[str, ...]
    _patterns: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)
    _any: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_patterns", tuple(_compile(t) for t in self.templates))
        object.__setattr__(self, "_any", _alternation(self.templates))

    def patterns(self) -> dict[str, re.Pattern[str]]:
        """Each template's pattern (named groups for its parameters); UNMATCHED matches all."""
        return {**dict(zip(self.templates, self._patterns, strict=True)), UNMATCHED: _ANYTHING}

    def resolve(self, path: str) -> str:
        match = self._any.fullmatch(path)
        if match is None or match.lastindex is None:
            return UNMATCHED
        return self.templates[match.lastindex - 1]


# Core: the Studio API (spec §3.1, availability 99.5%) ...
AUTOMATIONS = "/v1/automations"
AUTOMATION = "/v1/automations/{automation_id}"
AUTOMATION_VERSIONS = "/v1/automation-versions"
AUTOMATION_VERSION = "/v1/automation-versions/{version_id}"

# ... and the Admin API (`/v1/admin/*`, availability 99.0%, admin scope at the edge).
ADMIN_TENANTS = "/v1/admin/tenants"
ADMIN_PROJECTS = "/v1/admin/projects"
ADMIN_PROJECT = "/v1/admin/projects/{project_id}"
ADMIN_QUOTES = "/v1/admin/quotes"
ADMIN_QUOTE = "/v1/admin/quotes/{quote_id}"
ADMIN_CLIENTS = "/v1/admin/clients"
ADMIN_CLIENT = "/v1/admin/clients/{client_id}"
ADMIN_FEATURE_FLAGS = "/v1/admin/feature-flags"
ADMIN_FEATURE_FLAG = "/v1/admin/feature-flags/{flag}"

STUDIO_TEMPLATES = (AUTOMATIONS, AUTOMATION, AUTOMATION_VERSIONS, AUTOMATION_VERSION)
ADMIN_TEMPLATES = (
    ADMIN_TENANTS,
    ADMIN_PROJECTS,
    ADMIN_PROJECT,
    ADMIN_QUOTES,
    ADMIN_QUOTE,
    ADMIN_CLIENTS,
    ADMIN_CLIENT,
    ADMIN_FEATURE_FLAGS,
    ADMIN_FEATURE_FLAG,
)

CORE_ROUTES = RouteTable((*STUDIO_TEMPLATES, *ADMIN_TEMPLATES))

# The edge serves core's routes plus its own traffic-shaping lever (spec §6.2).
EDGE_RATE_LIMIT = "/v1/admin/rate-limit"

EDGE_ROUTES = RouteTable((EDGE_RATE_LIMIT, *CORE_ROUTES.templates))

# The Run Event Webhook service.
WEBHOOK_RUN_EVENTS = "/v1/webhooks/run-events"

WEBHOOK_ROUTES = RouteTable((WEBHOOK_RUN_EVENTS,))

# Workers serve only /healthz and /metrics.
WORKER_ROUTES = RouteTable(())

# The fake WRK Platform: its workflow API, and the admin levers the harness drives.
WORKFLOWS = "/v1/workflows"
WORKFLOW_DEACTIVATE = "/v1/workflows/{workflow_id}/deactivate"
PLATFORM_FAULTS = "/admin/faults"
PLATFORM_WORKFLOW_STATS = "/admin/workflows"
PLATFORM_RUN_EVENTS = "/admin/run-events"
PLATFORM_RUN_EVENTS_BATCH = "/admin/run-events/batch"
PLATFORM_RUN_EVENTS_STATUS = "/admin/run-events/status"

PLATFORM_ROUTES = RouteTable(
    (
        WORKFLOWS,
        WORKFLOW_DEACTIVATE,
        PLATFORM_FAULTS,
        PLATFORM_WORKFLOW_STATS,
        PLATFORM_RUN_EVENTS,
        PLATFORM_RUN_EVENTS_BATCH,
        PLATFORM_RUN_EVENTS_STATUS,
    )
)
