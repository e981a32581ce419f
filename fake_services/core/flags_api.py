"""Admin API: feature flags, the first mitigation lever of the incident playbook (spec §6.2)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, StrictBool

from fake_services import defects, routes
from fake_services.core.records import not_found
from fake_services.core.services import Services, UserId
from fake_services.flags import DEFAULTS, Flag

router = APIRouter()


class FeatureFlagState(BaseModel):
    flag: Flag
    enabled: bool
    default: bool


class FeatureFlagList(BaseModel):
    items: list[FeatureFlagState]


class SetFeatureFlag(BaseModel):
    enabled: StrictBool


def _lever_served() -> None:
    """Defect no_feature_flag_lever: the routes answer as if they did not exist."""
    if defects.active(defects.Defect.NO_FEATURE_FLAG_LEVER):
        raise not_found("route")


def _parse(flag: str) -> Flag:
    try:
        return Flag(flag)
    except ValueError:
        # A typo must not look like a successful mitigation.
        raise not_found("feature flag") from None


@router.get(routes.ADMIN_FEATURE_FLAGS)
async def list_flags(svc: Services) -> FeatureFlagList:
    _lever_served()
    states = svc.flags.snapshot()
    return FeatureFlagList(
        items=[
            FeatureFlagState(flag=f, enabled=on, default=DEFAULTS[f]) for f, on in states.items()
        ]
    )


@router.put(routes.ADMIN_FEATURE_FLAG)
async def set_flag(
    flag: str, body: SetFeatureFlag, svc: Services, user: UserId
) -> FeatureFlagState:
    _lever_served()
    parsed = _parse(flag)
    await svc.flags.set(parsed, body.enabled, user)
    return FeatureFlagState(flag=parsed, enabled=body.enabled, default=DEFAULTS[parsed])
