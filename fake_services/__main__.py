"""`python -m fake_services <service>`: start one fake service in this process."""

from __future__ import annotations

import importlib
import sys

# service name → (module, entry point); modules are imported only for the service started.
SERVICES = {
    "edge": ("fake_services.edge.main", "main"),
    "core": ("fake_services.core.main", "main"),
    "platform": ("fake_services.platform.main", "main"),
    "webhook": ("fake_services.webhook.main", "main"),
    "worker-build": ("fake_services.workers.main", "build_main"),
    "worker-ai-ingestion": ("fake_services.workers.main", "ai_ingestion_main"),
    "worker-notifications": ("fake_services.workers.main", "notifications_main"),
    "worker-usage-aggregation": ("fake_services.workers.main", "usage_aggregation_main"),
}


def main(argv: list[str]) -> None:
    if len(argv) != 1 or argv[0] not in SERVICES:
        sys.stderr.write(f"usage: python -m fake_services {{{'|'.join(SERVICES)}}}\n")
        sys.exit(2)
    module, entry = SERVICES[argv[0]]
    getattr(importlib.import_module(module), entry)()


if __name__ == "__main__":
    main(sys.argv[1:])
