"""The HTML report is a real page: headless Chromium loads it, shows the verdict, draws plots.

Chromium (Debian package `chromium`, installed by `make setup`) renders a report built from a
realistic run: its DOM must hold the verdict, its console must stay silent (the page has no
script at all), and its screenshot must show the coloured verdict box and shaded windows.
"""

from __future__ import annotations

import os
import shutil
import signal
import struct
import subprocess
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.report.html import render_html
from harness.report.model import RunView
from tests.report_fixtures import build_results, build_run

pytestmark = pytest.mark.integration

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars")
FAULT_PINK = (0xF8, 0xD0, 0xD0)  # harness.report.svg BAND_COLOURS["fault"]
BASELINE_GREEN = (0xD8, 0xF0, 0xD8)
FAILED_BOX = (0xFB, 0xE3, 0xE3)


@dataclass(frozen=True)
class Chromium:
    binary: str
    profile: Path

    def run(self, url: str, *extra: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        cmd = [self.binary, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", *extra, url]
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the group we started, nothing else
            proc.communicate()
            raise
        return subprocess.CompletedProcess(cmd, proc.returncode, out, err)

    def dom_and_console(self, page: Path) -> tuple[str, list[str]]:
        proc = self.run(page.as_uri(), "--enable-logging=stderr", "--v=0", "--dump-dom")
        assert proc.returncode == 0, proc.stderr[-2000:]
        console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
        return proc.stdout, console

    def screenshot(self, page: Path, out: Path, size: str = "900,2400") -> Path:
        proc = self.run(page.as_uri(), f"--window-size={size}", f"--screenshot={out}")
        assert proc.returncode == 0 and out.is_file(), proc.stderr[-2000:]
        return out


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Chromium:
    binary = shutil.which("chromium")
    if binary is None:
        pytest.fail("chromium is not installed: run `make setup` (Debian package chromium)")
    return Chromium(binary, tmp_path_factory.mktemp("chromium-profile"))


def _page(tmp_path: Path, data: dict[str, object] | None = None) -> Path:
    page = tmp_path / "report.html"
    page.write_text(render_html(RunView.from_json(data or build_results()), []))
    return page


def test_report_loads_with_its_verdict_and_no_script_errors(
    chromium: Chromium, tmp_path: Path
) -> None:
    dom, console = chromium.dom_and_console(_page(tmp_path))
    assert 'class="word">FAILED<' in dom
    assert "11/13" in dom and "20261127T080000-4242" in dom
    assert "alert_fires [WrkPlatformFailureRate]" in dom
    assert dom.count("<svg") == 6  # the budget chart and five series
    assert "<script" not in dom
    assert console == []


def test_console_errors_would_be_caught(chromium: Chromium, tmp_path: Path) -> None:
    """The console check above can fail: a page with a broken script is reported."""
    page = tmp_path / "broken.html"
    page.write_text("<html><body><p>x</p><script>notDefined();</script></body></html>")
    _, console = chromium.dom_and_console(page)
    assert any("notDefined" in line for line in console)


def test_passed_run_shows_passed(chromium: Chromium, tmp_path: Path) -> None:
    run = build_run()
    run.scenarios = run.scenarios[:1]
    dom, console = chromium.dom_and_console(_page(tmp_path, run.to_json()))
    assert 'class="word">PASSED<' in dom and console == []


def test_screenshot_shows_verdict_box_and_shaded_windows(
    chromium: Chromium, tmp_path: Path
) -> None:
    png = chromium.screenshot(_page(tmp_path), tmp_path / "report.png")
    image = Png.read(png)
    colours = Counter(image.pixels())
    assert len(colours) >= 8, f"only {len(colours)} colours: a blank page?"
    white = colours.get((255, 255, 255), 0)
    assert white < 0.97 * image.width * image.height
    for wanted in (FAILED_BOX, FAULT_PINK, BASELINE_GREEN):
        assert _near(colours, wanted) > 500, f"colour {wanted} barely present"


def test_blank_page_fails_the_screenshot_checks(chromium: Chromium, tmp_path: Path) -> None:
    """The screenshot assertions can fail: an empty page has one colour and no bands."""
    page = tmp_path / "blank.html"
    page.write_text("<html><body></body></html>")
    colours = Counter(Png.read(chromium.screenshot(page, tmp_path / "b.png", "400,300")).pixels())
    assert len(colours) < 8 and _near(colours, FAULT_PINK) == 0


def _near(colours: Counter[tuple[int, int, int]], rgb: tuple[int, int, int]) -> int:
    """Pixels within 4 of `rgb` per channel (colour management may shift a value or two)."""
    return sum(
        n for c, n in colours.items() if all(abs(a - b) <= 4 for a, b in zip(c, rgb, strict=True))
    )


# -- a minimal PNG reader (8-bit RGB / RGBA, what Chromium writes) ----------------------------


@dataclass(frozen=True)
class Png:
    width: int
    height: int
    channels: int
    rows: list[bytes]

    @classmethod
    def read(cls, path: Path) -> Png:
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
        pos, idat, header = 8, b"", b""
        while pos < len(data):
            (length,) = struct.unpack(">I", data[pos : pos + 4])
            kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
            header = body if kind == b"IHDR" else header
            idat += body if kind == b"IDAT" else b""
            pos += 12 + length
        width, height, depth, colour_type = struct.unpack(">IIBB", header[:10])
        assert depth == 8 and colour_type in (2, 6), (depth, colour_type)
        channels = 3 if colour_type == 2 else 4
        return cls(
            width, height, channels, _unfilter(zlib.decompress(idat), width, height, channels)
        )

    def pixels(self) -> list[tuple[int, int, int]]:
        c = self.channels
        return [(r[i], r[i + 1], r[i + 2]) for r in self.rows for i in range(0, len(r), c)]


def _unfilter(raw: bytes, width: int, height: int, bpp: int) -> list[bytes]:
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up, corner = prev[i], prev[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + _predict(kind, left, up, corner)) & 0xFF
        rows.append(bytes(line))
        prev = line
    return rows


def _predict(kind: int, a: int, b: int, c: int) -> int:
    if kind == 0:
        return 0
    if kind == 1:
        return a
    if kind == 2:
        return b
    if kind == 3:
        return (a + b) // 2
    p = a + b - c  # Paeth
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c
