"""`python -m fake_services <service>`: start one fake service in this process."""

from __future__ import annotations

import importlib
import sys

SERVICES = {
    "edge": "fake_services.edge.main",
    "core": "fake_services.core.main",
    "platform": "fake_services.platform.main",
}


def main(argv: list[str]) -> None:
    if len(argv) != 1 or argv[0] not in SERVICES:
        sys.stderr.write(f"usage: python -m fake_services {{{'|'.join(SERVICES)}}}\n")
        sys.exit(2)
    importlib.import_module(SERVICES[argv[0]]).main()


if __name__ == "__main__":
    main(sys.argv[1:])
