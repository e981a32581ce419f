"""Request context carried in contextvars, so business code never passes ids around.

The context object is deliberately mutable: the middleware creates it, handlers fill in the
tenant and user once they are known (after authentication), and the middleware, which holds the
same object, sees those values when it writes the access log. A contextvar copy made by a task
group still points at the same object, so no update is lost across task boundaries.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,128}")


def is_valid_request_id(value: str | None) -> bool:
    """8-128 characters of [A-Za-z0-9._-]: safe to log, to echo in a header, and to index."""
    return value is not None and _REQUEST_ID.fullmatch(value) is not None


def random_id() -> str:
    """32 random hex digits, a uuid4's `.hex` shape. Ids need uniqueness, not secrecy: the
    module's Mersenne Twister (seeded from the OS in each process, reseeded in a forked child)
    costs a seventh of uuid4's getrandom call, which is dear on a VM."""
    return f"{random.getrandbits(128):032x}"


def new_request_id() -> str:
    return random_id()


def accept_request_id(incoming: str | None) -> str:
    """Keep a well-formed incoming id (correlation across hops), else mint a fresh one."""
    return incoming if incoming is not None and is_valid_request_id(incoming) else new_request_id()


_OPTIONAL_FIELDS = ("trace_id", "tenant_id", "user_id", "route", "job_type", "job_id", "source_ip")


@dataclass(slots=True)
class RequestContext:
    request_id: str
    trace_id: str | None = None
    tenant_id: str | None = None
    user_id: str | None = None
    route: str | None = None
    job_type: str | None = None
    job_id: str | None = None
    # The client address as the edge sees it; only set where it means something (auth failures).
    source_ip: str | None = None
    # Set by error handlers so the access log line of a failed request names its error code.
    error_code: str | None = None

    def log_fields(self) -> dict[str, str]:
        """The fields every log line written inside this context carries (absent ones omitted)."""
        fields = {"request_id": self.request_id}
        for name in _OPTIONAL_FIELDS:
            value = getattr(self, name)
            if value is not None:
                fields[name] = value
        return fields


_current: ContextVar[RequestContext | None] = ContextVar("wrk_request_context", default=None)


def current() -> RequestContext | None:
    return _current.get()


@contextmanager
def bound(ctx: RequestContext) -> Iterator[RequestContext]:
    """Make `ctx` the current context for the duration of the block."""
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)
