"""The faults a scenario injects, as data: Toxiproxy outages and toxics, the system's own HTTP
levers, harmful extra load. `harness.run.faults` turns them into faults that run."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import BeforeValidator, Field, JsonValue

from harness.spec.effects import Signal
from harness.spec.fields import ServiceName, Slug, StrictModel, bounded, to_seconds, within
from harness.spec.traffic import Load

UNTIL_EXPECTATIONS: Final = "until_expectations"

# Milliseconds of a toxic (latency, jitter, timeout): never time-scaled; a response held
# longer than ten minutes is no longer slow but gone (that is the `timeout` kind).
MAX_TOXIC_MS = 600_000
MAX_RATE_KB_S = 1_000_000  # 1 GB/s: no limit at all on loopback
# A scenario's phases and fixed holds, real scale: a game day at scale 1 runs for hours, not days.
MAX_PHASE_S = 86400.0

ProxyName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")]
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
ToxicMs = Annotated[int, within(0, MAX_TOXIC_MS), Field(ge=0, le=MAX_TOXIC_MS)]


def _hold(value: object) -> object:
    """One validator for the whole union, so an error names `hold`, not a union branch."""
    if value == UNTIL_EXPECTATIONS:
        return value
    seconds = to_seconds(value)
    if seconds <= 0:
        raise ValueError(f"must be longer than 0s (or {UNTIL_EXPECTATIONS!r})")
    return bounded(seconds, MAX_PHASE_S)


Hold = Annotated[float | Literal["until_expectations"], BeforeValidator(_hold)]


class _FaultBase(StrictModel):
    """Fields every fault has."""

    name: Slug
    """Unique within the scenario; names the fault in reports."""
    hold: Hold = UNTIL_EXPECTATIONS
    """`until_expectations` (removed once every alert in expect.fires fired and was delivered,
    or its budget ran out) or a duration, REAL scale."""
    effect: Signal | None = None
    """How the fault shows in the target's signals (fault_effective); by default what the
    catalogue's effects.yaml says of the fault's kind."""


class ProxyFault(_FaultBase):
    """A fault on a Toxiproxy proxy of the target."""

    proxy: ProxyName
    """A Toxiproxy proxy of the target, e.g. `wrk_platform` (checked against the target)."""


class _ToxicBase(ProxyFault):
    """Fields every Toxiproxy toxic has."""

    direction: Literal["downstream", "upstream"] = "downstream"
    """Which way the toxic acts (Toxiproxy `stream`): downstream = responses."""
    toxicity: float = Field(default=1.0, ge=0.0, le=1.0)
    """Share of connections affected."""


class OutageFault(ProxyFault):
    """The proxy is disabled: connections are refused."""

    kind: Literal["outage"]


class LatencyFault(_ToxicBase):
    """Every response is delayed by latency_ms ± jitter_ms."""

    kind: Literal["latency"]
    latency_ms: Annotated[int, within(1, MAX_TOXIC_MS), Field(ge=1, le=MAX_TOXIC_MS)]
    jitter_ms: ToxicMs = 0

    @property
    def toxiproxy_attributes(self) -> dict[str, int]:
        """Attributes as the Toxiproxy API names them."""
        return {"latency": self.latency_ms, "jitter": self.jitter_ms}


class TimeoutFault(_ToxicBase):
    """Data stops flowing; the connection closes after timeout_ms (0: never)."""

    kind: Literal["timeout"]
    timeout_ms: ToxicMs

    @property
    def toxiproxy_attributes(self) -> dict[str, int]:
        """Attributes as the Toxiproxy API names them."""
        return {"timeout": self.timeout_ms}


class BandwidthFault(_ToxicBase):
    """Throughput limited to rate_kb_s kilobytes per second."""

    kind: Literal["bandwidth"]
    rate_kb_s: Annotated[int, within(1, MAX_RATE_KB_S), Field(ge=1, le=MAX_RATE_KB_S)]

    @property
    def toxiproxy_attributes(self) -> dict[str, int]:
        """Attributes as the Toxiproxy API names them."""
        return {"rate": self.rate_kb_s}


class ResetPeerFault(_ToxicBase):
    """Connections are reset (TCP RST) after timeout_ms."""

    kind: Literal["reset_peer"]
    timeout_ms: ToxicMs = 0

    @property
    def toxiproxy_attributes(self) -> dict[str, int]:
        """Attributes as the Toxiproxy API names them."""
        return {"timeout": self.timeout_ms}


class HttpMethod(StrEnum):
    GET = "GET"
    POST = "POST"
    PUT = "PUT"
    PATCH = "PATCH"
    DELETE = "DELETE"


class HttpCallSpec(StrictModel):
    """One request to a service of the target (its own levers: fault modes, flags, data)."""

    service: ServiceName
    """A service of the target, e.g. `edge` or `platform`."""
    method: HttpMethod
    path: str = Field(pattern=r"^/")
    json_body: JsonValue = Field(default=None, alias="json")
    """The JSON body, if any."""
    auth: bool = False
    """Send the run's API key (needed for the edge's /v1 routes)."""
    capture: dict[Identifier, Identifier] = {}
    """Response fields to remember by name (`{client_id: id}`); later calls of the same fault
    use them in their path as `{client_id}`."""


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, dict) else value


HttpCalls = Annotated[tuple[HttpCallSpec, ...], BeforeValidator(_one_or_many)]


class HttpFaultSpec(_FaultBase):
    """A fault set through HTTP levers of the system (a fault mode, a flag, a data change)."""

    kind: Literal["http"]
    apply: HttpCalls = Field(min_length=1)
    """One call or a list, in order."""
    rollback: HttpCalls = ()
    """Undoes `apply` at the end of the fault; omit only when nothing needs undoing."""


class LoadFaultSpec(_FaultBase, Load):
    """Harmful extra load during the fault (bad API keys, bad webhook signatures, a flood)."""

    kind: Literal["load"]
    service: ServiceName = "edge"
    """The service the extra load is sent to."""


# Faults applied as one Toxiproxy toxic: `kind` is the toxic's Toxiproxy type, `direction` its
# stream, `toxicity` its toxicity, `toxiproxy_attributes` its attributes.
ToxicFault = LatencyFault | TimeoutFault | BandwidthFault | ResetPeerFault
# One fault of a scenario; `kind` picks the model, so each kind's parameters are checked.
FaultSpec = Annotated[
    OutageFault | ToxicFault | HttpFaultSpec | LoadFaultSpec, Field(discriminator="kind")
]
