"""`fake_services.observability` is the only door to logging, metrics and tracing (spec §7):
no other module of the fakes imports a provider, so one can be swapped without touching them."""

from __future__ import annotations

import ast
from pathlib import Path

import fake_services

PACKAGE = Path(fake_services.__file__).parent
DOOR = PACKAGE / "observability"
PROVIDERS = ("logging", "opentelemetry", "prometheus_client")
# The injectable defect `log_secret` writes a raw line past the door on purpose: it stands for
# a service whose logging bypasses redaction, the leak the conformance suite must catch.
BYPASSES_ON_PURPOSE = {PACKAGE / "defects.py": {"logging"}}


def provider_imports(source: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in names} & set(PROVIDERS)
    return found


def test_only_the_observability_package_imports_a_provider() -> None:
    modules = [p for p in PACKAGE.rglob("*.py") if DOOR not in p.parents]
    assert len(modules) > 50  # the walk found the package
    crossings = {
        str(path.relative_to(PACKAGE)): sorted(found)
        for path in modules
        if (found := provider_imports(path.read_text()) - BYPASSES_ON_PURPOSE.get(path, set()))
    }
    assert crossings == {}


def test_the_scan_sees_every_import_form() -> None:
    source = "import logging\nimport opentelemetry.trace as t\nfrom prometheus_client import C\n"
    assert provider_imports(source) == set(PROVIDERS)
    assert provider_imports("from fake_services.observability import Tracer\n") == set()
    assert provider_imports("from .logging_helpers import x\n") == set()  # relative: ours
