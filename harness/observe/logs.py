"""Log evidence: every service's JSON log lines, read incrementally, typed and indexed.

Each service writes one JSON object per line to `<log_dir>/<service>.log` (spec §2.1). A
scenario produces tens of thousands of lines, and several checks ask questions of the same
lines, so the store reads each file once: it remembers how far it got in every file and, on
each refresh, parses only what was appended since. A last line still being written (no
newline yet) is left for the next refresh, so a line is never parsed half-written.

Lines that are not JSON objects are kept as `UnparsedLine`s of their service: a stack trace
printed to stdout is a line the spec's log pipeline could not use, so it counts against the
service.

The harness reads only files here, never the services' code: the same store works on the log
directory of a real deployment.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from harness.errors import ObserveError

__all__ = [
    "LineFiles",
    "LogEvent",
    "LogStore",
    "RawLine",
    "UnparsedLine",
    "parse_log_line",
    "parse_rfc3339",
]

LOG_SUFFIX = ".log"
# The harness's process supervisor writes this line before starting a service (harness.stack
# .process); it is the harness's own note, not the service's output.
SUPERVISOR_MARKER = "--- starting: "

Clock = Callable[[], float]


# -- incremental reading of a directory of line files --------------------------------------


@dataclass(frozen=True, slots=True)
class RawLine:
    """One complete line of one file, as read."""

    source: str  # the file name without its suffix: the service
    file: Path
    line_no: int  # 1-based, within the file
    text: str
    read_at: float  # when the store read it (unix seconds)


@dataclass
class _FileTail:
    """The unread part of one file: offset of the first unread byte and lines read so far."""

    path: Path
    offset: int = 0
    line_no: int = 0
    inode: int | None = None

    def read(self, clock: Clock, final: bool) -> list[tuple[int, str, float]]:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return []
        if self.inode is not None and (info.st_ino != self.inode or info.st_size < self.offset):
            # Replaced or truncated (rotation): what is there now is new.
            self.offset, self.line_no = 0, 0
        self.inode = info.st_ino
        if info.st_size == self.offset:
            return []
        try:
            with self.path.open("rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except OSError as exc:
            raise ObserveError(f"cannot read {self.path}: {exc}") from exc
        # Stop at the last newline: the rest is a line its writer has not finished. At the end
        # of a run (`final`) nothing more will come, so a last unterminated line is taken too.
        end = len(data) if final else data.rfind(b"\n") + 1
        self.offset += end
        now = clock()
        lines: list[tuple[int, str, float]] = []
        for chunk in data[:end].splitlines():
            self.line_no += 1
            text = chunk.decode("utf-8", errors="replace")
            if text.strip():
                lines.append((self.line_no, text, now))
        return lines


class LineFiles:
    """Every `<source><suffix>` file of a directory, read from where the last read stopped.

    Files that appear later are picked up on the next read; a missing directory is simply
    empty (a service that never wrote a line leaves no file).
    """

    def __init__(
        self,
        directory: Path,
        suffix: str,
        sources: Iterable[str] | None = None,
        clock: Clock = time.time,
    ) -> None:
        self.directory = directory
        self.suffix = suffix
        self._sources = frozenset(sources) if sources is not None else None
        self._clock = clock
        self._tails: dict[Path, _FileTail] = {}

    def read_new(self, final: bool = False) -> list[RawLine]:
        out: list[RawLine] = []
        for path in self._files():
            tail = self._tails.setdefault(path, _FileTail(path))
            source = path.name.removesuffix(self.suffix)
            out += [
                RawLine(source, path, n, text, at) for n, text, at in tail.read(self._clock, final)
            ]
        return out

    def _files(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        found = sorted(p for p in self.directory.glob(f"*{self.suffix}") if p.is_file())
        if self._sources is None:
            return found
        return [p for p in found if p.name.removesuffix(self.suffix) in self._sources]


# -- typed log events ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One JSON log line of one service.

    `at` is the time window queries use: the line's own `timestamp`, or, when it has none,
    the timestamp of the line before it in the same file (else the time it was read), so a
    line without a valid timestamp still falls in the window where it was written.
    """

    service: str
    file: Path
    line_no: int
    raw: str
    at: float
    timestamp: float | None  # parsed from the RFC3339 `timestamp` field; None: absent or invalid
    level: str | None
    message: str | None
    request_id: str | None
    trace_id: str | None
    tenant_id: str | None
    user_id: str | None
    route: str | None
    job_type: str | None
    error_code: str | None
    resource_type: str | None
    resource_id: str | None
    method: str | None
    status: int | None  # HTTP status of an access log line
    fields: Mapping[str, object] = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class UnparsedLine:
    """A line of a service's log that is not a JSON object."""

    service: str
    file: Path
    line_no: int
    raw: str
    at: float  # the timestamp of the last parsed line before it, else when it was read
    reason: str


LogRecord = LogEvent | UnparsedLine


def parse_rfc3339(value: object) -> float | None:
    """Unix seconds of an RFC3339 timestamp with an offset (`Z` or `+hh:mm`); None otherwise."""
    if not isinstance(value, str) or len(value) < 20:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    # RFC3339 requires an offset: a local time without one cannot be placed on a timeline.
    return parsed.timestamp() if parsed.tzinfo is not None else None


def _text(fields: Mapping[str, object], name: str) -> str | None:
    """A field as text; absent, empty and structured values count as missing."""
    value = fields.get(name)
    if type(value) is str:  # the common case first: this runs a dozen times per line
        return value or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _status(fields: Mapping[str, object]) -> int | None:
    value = fields.get("status")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def parse_log_line(line: RawLine, previous_at: float | None) -> LogRecord:
    """A typed event, or an unparsed line with the reason."""
    at = previous_at if previous_at is not None else line.read_at
    try:
        doc = json.loads(line.text)
    except ValueError:
        return UnparsedLine(line.source, line.file, line.line_no, line.text, at, "not JSON")
    if not isinstance(doc, dict):
        reason = "not a JSON object"
        return UnparsedLine(line.source, line.file, line.line_no, line.text, at, reason)
    stamp = parse_rfc3339(doc.get("timestamp"))
    return LogEvent(
        service=line.source,
        file=line.file,
        line_no=line.line_no,
        raw=line.text,
        at=stamp if stamp is not None else at,
        timestamp=stamp,
        level=_text(doc, "level"),
        message=_text(doc, "message"),
        request_id=_text(doc, "request_id"),
        trace_id=_text(doc, "trace_id"),
        tenant_id=_text(doc, "tenant_id"),
        user_id=_text(doc, "user_id"),
        route=_text(doc, "route"),
        job_type=_text(doc, "job_type"),
        error_code=_text(doc, "error_code"),
        resource_type=_text(doc, "resource_type"),
        resource_id=_text(doc, "resource_id"),
        method=_text(doc, "method"),
        status=_status(doc),
        fields=doc,
    )


def _in_window(at: float, since: float | None, until: float | None) -> bool:
    return (since is None or at >= since) and (until is None or at <= until)


class LogStore:
    """Every service's log lines, read once, indexed by request id and error code.

    Queries first read what the files gained since the last query (one `stat` per file when
    nothing changed), so a store created at the start of a run serves every scenario.
    `services` limits the files read (the log directory of a local stack also holds the logs
    of Prometheus, Postgres and the others, which are not JSON and not under test).
    Not thread-safe: refresh and query it from one thread (the scenario runner's).
    """

    def __init__(
        self, log_dir: Path, services: Iterable[str] | None = None, clock: Clock = time.time
    ) -> None:
        self.log_dir = log_dir
        self._files = LineFiles(log_dir, LOG_SUFFIX, services, clock)
        self._records: dict[str, list[LogRecord]] = {}
        self._last_at: dict[Path, float] = {}
        self._by_request: defaultdict[str, list[LogEvent]] = defaultdict(list)
        self._by_code: defaultdict[str, list[LogEvent]] = defaultdict(list)

    def refresh(self, final: bool = False) -> int:
        """Parse what was appended since the last refresh; returns how many lines were new.

        `final=True` also takes a last line without its newline (its writer has stopped).
        """
        new = self._files.read_new(final)
        for line in new:
            if line.text.startswith(SUPERVISOR_MARKER):
                continue
            self._add(parse_log_line(line, self._last_at.get(line.file)))
        return len(new)

    def _add(self, record: LogRecord) -> None:
        self._records.setdefault(record.service, []).append(record)
        self._last_at[record.file] = record.at
        if isinstance(record, LogEvent):
            if record.request_id is not None:
                self._by_request[record.request_id].append(record)
            if record.error_code is not None:
                self._by_code[record.error_code].append(record)

    # -- queries -----------------------------------------------------------------------------

    @property
    def services(self) -> tuple[str, ...]:
        """Services that have written at least one line, sorted."""
        self.refresh()
        return tuple(sorted(self._records))

    def records(
        self,
        since: float | None = None,
        until: float | None = None,
        services: Iterable[str] | None = None,
    ) -> Iterator[LogRecord]:
        """Parsed and unparsed lines in [since, until], service by service, in file order."""
        self.refresh()
        names = sorted(self._records) if services is None else list(services)
        for name in names:
            for record in self._records.get(name, ()):
                if _in_window(record.at, since, until):
                    yield record

    def events(
        self,
        since: float | None = None,
        until: float | None = None,
        services: Iterable[str] | None = None,
    ) -> list[LogEvent]:
        """JSON events in [since, until] (unix seconds, inclusive; None: unbounded)."""
        return [r for r in self.records(since, until, services) if isinstance(r, LogEvent)]

    def unparsed(
        self,
        since: float | None = None,
        until: float | None = None,
        services: Iterable[str] | None = None,
    ) -> list[UnparsedLine]:
        """Lines that are not JSON objects, in [since, until]."""
        return [r for r in self.records(since, until, services) if isinstance(r, UnparsedLine)]

    def by_service(self, service: str) -> list[LogEvent]:
        return self.events(services=[service])

    def by_request_id(
        self, request_id: str, services: Iterable[str] | None = None
    ) -> list[LogEvent]:
        """Every event carrying `request_id`, whenever it was written (a job may run later)."""
        self.refresh()
        found = self._by_request.get(request_id, [])
        if services is None:
            return list(found)
        wanted = frozenset(services)
        return [e for e in found if e.service in wanted]

    def has_request_id(self, request_id: str, service: str) -> bool:
        self.refresh()
        return any(e.service == service for e in self._by_request.get(request_id, ()))

    def by_error_code(
        self,
        code: str,
        since: float | None = None,
        until: float | None = None,
        services: Iterable[str] | None = None,
    ) -> list[LogEvent]:
        self.refresh()
        wanted = frozenset(services) if services is not None else None
        return [
            e
            for e in self._by_code.get(code, ())
            if _in_window(e.at, since, until) and (wanted is None or e.service in wanted)
        ]

    def error_codes(
        self,
        since: float | None = None,
        until: float | None = None,
        services: Iterable[str] | None = None,
    ) -> Counter[str]:
        """How often each error code was logged in [since, until]."""
        self.refresh()
        seen: Counter[str] = Counter()
        for code in self._by_code:
            count = len(self.by_error_code(code, since, until, services))
            if count:
                seen[code] = count
        return seen
