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
    # Idempotency-Key → workflow id: a retried create returns the workflow of the first call.
    by_key: dict[str, str] = field(default_factory=dict)

    def create(self, name: str, tenant_id: str, idempotency_key: str | None = None) -> Workflow:
        if idempotency_key is not None and idempotency_key in self.by_key:
            return self.workflows[self.by_key[idempotency_key]]
        workflow = Workflow(f"wf_{secrets.token_hex(8)}", name, tenant_id)
        self.workflows[workflow.workflow_id] = workflow
        if idempotency_key is not None:
            self.by_key[idempotency_key] = workflow.workflow_id
        return workflow

    def deactivate(self, workflow_id: str) -> Workflow | None:
        workflow = self.workflows.get(workflow_id)
        if workflow is not None:
            workflow.status = WorkflowStatus.INACTIVE
        return workflow

    def counts(self) -> dict[str, int]:
        found = {status.value: 0 for status in WorkflowStatus}
        for workflow in self.workflows.values():
            found[workflow.status.value] += 1
        return found
