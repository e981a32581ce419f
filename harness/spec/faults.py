"""The faults a scenario injects, as data: Toxiproxy outages and toxics, the system's own HTTP
levers, harmful extra load. `harness.run.faults` turns them into faults that run."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import BeforeValidator, Field, JsonValue, NonNegativeInt, PositiveInt

from harness.spec.effects import Signal
from harness.spec.fields import ServiceName, Slug, StrictModel, to_seconds
from harness.spec.traffic import Load

UNTIL_EXPECTATIONS: Final = "until_expectations"

ProxyName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")]
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


def _hold(value: object) -> object:
    """One validator for the whole union, so an error names `hold`, not a union branch."""
    return value if value == UNTIL_EXPECTATIONS else to_seconds(value)


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


class _ProxyFault(_FaultBase):
    """A fault on a Toxiproxy proxy of the target."""

    proxy: ProxyName
    """A Toxiproxy proxy of the target, e.g. `wrk_platform` (checked against the target)."""


class _ToxicBase(_ProxyFault):
    """Fields every Toxiproxy toxic has."""

    direction: Literal["downstream", "upstream"] = "downstream"
    """Which way the toxic acts (Toxiproxy `stream`): downstream = responses."""
    toxicity: float = Field(default=1.0, ge=0.0, le=1.0)
    """Share of connections affected."""


class OutageFault(_ProxyFault):
    """The proxy is disabled: connections are refused."""

    kind: Literal["outage"]


class LatencyFault(_ToxicBase):
    """Every response is delayed by latency_ms ± jitter_ms."""

    kind: Literal["latency"]
    latency_ms: PositiveInt
    jitter_ms: NonNegativeInt = 0

    @property
    def toxiproxy_attributes(self) -> dict[str, int]:
        """Attributes as the Toxiproxy API names them."""
        return {"latency": self.latency_ms, "jitter": self.jitter_ms}


class TimeoutFault(_ToxicBase):
    """Data stops flowing; the connection closes after timeout_ms (0: never)."""

    kind: Literal["timeout"]
    timeout_ms: NonNegativeInt

    @property
    def toxiproxy_attributes(self) -> dict[str, int]:
        """Attributes as the Toxiproxy API names them."""
        return {"timeout": self.timeout_ms}


class BandwidthFault(_ToxicBase):
    """Throughput limited to rate_kb_s kilobytes per second."""

    kind: Literal["bandwidth"]
    rate_kb_s: PositiveInt

    @property
    def toxiproxy_attributes(self) -> dict[str, int]:
        """Attributes as the Toxiproxy API names them."""
        return {"rate": self.rate_kb_s}


class ResetPeerFault(_ToxicBase):
    """Connections are reset (TCP RST) after timeout_ms."""

    kind: Literal["reset_peer"]
    timeout_ms: NonNegativeInt = 0

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
