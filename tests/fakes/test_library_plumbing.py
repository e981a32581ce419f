"""The fakes serve, pool, call and trace through the libraries they depend on: one serving path
per service (FastAPI/Starlette on uvicorn), asyncpg's pool, httpx, the OpenTelemetry SDK. A
second path or a hand-made pool, HTTP client or tracer would be what the fakes stand in for
no longer: this scan names any that comes back."""

from __future__ import annotations

import ast
from pathlib import Path

import fake_services

PACKAGE = Path(fake_services.__file__).parent

# Modules that held the hand-written plumbing.
REMOVED = (
    "observability/fastlane.py",
    "core/fast_routes.py",
    "http_protocol.py",
    "upstream.py",
    "db/connections.py",
    "observability/tracer.py",
)
# Wire-level modules: whoever imports one is writing a server, a client or a parser.
WIRE_MODULES = (
    "httptools",
    "h11",
    "h2",
    "ssl",
    "http.client",
    "urllib.request",
    "uvicorn.protocols",
)
# Calls that open connections or listeners by hand, or a database connection past the pool.
RAW_CALLS = {
    "open_connection",
    "open_unix_connection",
    "start_server",
    "create_connection",
    "create_server",
    "sock_connect",
    "sock_accept",
}
POOL_BYPASS = "asyncpg.connect"
# OpenTelemetry classes only the SDK implements; the fakes add an exporter and nothing else.
TRACER_PARTS = {"Tracer", "Span", "TracerProvider", "SpanProcessor", "Sampler", "IdGenerator"}
EXPORTERS = {"observability/span_file.py": {"SpanFileExporter"}}
# The ASGI callables of the package: the observability middleware in front of FastAPI, and the
# edge's forwarding endpoint (a Starlette route). Another is another way in.
ASGI_CALLABLES = {
    "observability/app.py": {"ServiceApp"},
    "observability/middleware.py": {"ObservabilityMiddleware"},
    "edge/app.py": {"Forwarding"},
}
# Where an httpx client is made: once per upstream, at start.
HTTPX_CLIENTS = {"sender.py", "platform/run_events.py"}


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _imports(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
    return found


def _is_asgi_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.AsyncFunctionDef) or node.name != "__call__":
        return False
    return [a.arg for a in node.args.args] == ["self", "scope", "receive", "send"]


def _class_problems(name: str, tree: ast.AST) -> list[str]:
    problems = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        bases = {_dotted(b).rsplit(".", 1)[-1] for b in node.bases}
        if bases & TRACER_PARTS:
            problems.append(f"{name}: {node.name} implements {sorted(bases & TRACER_PARTS)}")
        if "SpanExporter" in bases and node.name not in EXPORTERS.get(name, set()):
            problems.append(f"{name}: {node.name} is another span exporter")
        entry = any(_is_asgi_call(item) for item in node.body)
        if entry and node.name not in ASGI_CALLABLES.get(name, set()):
            problems.append(f"{name}: {node.name} is another ASGI entry point")
    return problems


def _call_problems(name: str, tree: ast.AST) -> list[str]:
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _dotted(node) == POOL_BYPASS:
            problems.append(f"{name}: uses {POOL_BYPASS}, past the pool")
        if not isinstance(node, ast.Call):
            continue
        called = _dotted(node.func)
        attribute = called.rsplit(".", 1)[-1]
        if attribute in RAW_CALLS:
            problems.append(f"{name}: calls {called}")
        if attribute in ("AsyncClient", "Client") and name not in HTTPX_CLIENTS:
            problems.append(f"{name}: makes an HTTP client ({called})")
    return problems


def plumbing_problems(package: Path) -> list[str]:
    """Every hand-written piece of plumbing found in the package at `package`."""
    problems = [f"{path} exists" for path in REMOVED if (package / path).exists()]
    for path in sorted(package.rglob("*.py")):
        name = str(path.relative_to(package))
        tree = ast.parse(path.read_text(), filename=name)
        wire = sorted(
            m for m in _imports(tree) if m in WIRE_MODULES or m.startswith("uvicorn.protocols")
        )
        problems += [f"{name}: imports {module}" for module in wire]
        problems += _class_problems(name, tree) + _call_problems(name, tree)
    return problems


def test_no_second_serving_path_nor_own_pool_client_or_tracer() -> None:
    assert len(list(PACKAGE.rglob("*.py"))) > 50  # the walk found the package
    assert plumbing_problems(PACKAGE) == []


def test_the_scan_names_what_it_finds(tmp_path: Path) -> None:
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "connections.py").write_text(
        "import asyncio, asyncpg\n"
        "async def new():\n"
        "    await asyncio.open_connection('h', 1)\n"
        "    return await asyncpg.connect('postgresql://')\n"
    )
    (tmp_path / "lane.py").write_text(
        "import httptools, httpx\n"
        "from opentelemetry.trace import Tracer\n"
        "class Lean(Tracer): ...\n"
        "class Lane:\n"
        "    async def __call__(self, scope, receive, send): ...\n"
        "client = httpx.AsyncClient()\n"
    )
    assert plumbing_problems(tmp_path) == [
        "db/connections.py exists",
        "db/connections.py: calls asyncio.open_connection",
        "db/connections.py: uses asyncpg.connect, past the pool",
        "lane.py: imports httptools",
        "lane.py: Lean implements ['Tracer']",
        "lane.py: Lane is another ASGI entry point",
        "lane.py: makes an HTTP client (httpx.AsyncClient)",
    ]
