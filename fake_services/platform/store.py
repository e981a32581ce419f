"""In-memory workflows: the fake platform needs no durability, only plausible answers."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from enum import StrEnum


class WorkflowStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"


@dataclass
class Workflow:
    workflow_id: str
    name: str
    tenant_id: str
    status: WorkflowStatus = WorkflowStatus.ACTIVE


@dataclass
class WorkflowStore:
    workflows: dict[str, Workflow] = field(default_factory=dict)

    def create(self, name: str, tenant_id: str) -> Workflow:
        workflow = Workflow(f"wf_{secrets.token_hex(8)}", name, tenant_id)
        self.workflows[workflow.workflow_id] = workflow
        return workflow

    def deactivate(self, workflow_id: str) -> Workflow | None:
        workflow = self.workflows.get(workflow_id)
        if workflow is not None:
            workflow.status = WorkflowStatus.INACTIVE
        return workflow
