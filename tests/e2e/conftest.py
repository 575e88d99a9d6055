"""Fixtures for browser tests: one JupyterLab server and one Chromium per session, shared by tests."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_lab import CHROMIUM, CHROMIUM_ARGS, LabPage
from e2e_server import LabServer, jupyter_lab_executable, make_server, remove_server_dirs
from e2e_widgets import FigureSpec, WidgetSpec, record_run_time

ARTIFACTS = Path(__file__).resolve().parent / "screenshots"
INSTALL_HINT = "install it with: sudo bash scripts/ensure_chromium.sh (apt-get install -y chromium)"


def _missing(reason: str) -> None:
    """Skip on a developer machine, but never let CI pass without having run the browser tests."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: a missing browser is a failure, not a skip)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get("E2E_CHROMIUM", CHROMIUM)
    if not Path(path).is_file():
        _missing(f"Chromium not found at {path}; {INSTALL_HINT}")
    return path


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Screenshots and the server log land here (gitignored); old failure shots are cleared."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for stale in ARTIFACTS.glob("*-FAILED.png"):
        stale.unlink(missing_ok=True)
    return ARTIFACTS


_terminated: list[int] = []  # signals received; checked between tests


@pytest.fixture(scope="session")
def sigterm_as_interrupt() -> Iterator[None]:
    """`timeout` sends SIGTERM, which would skip teardown and orphan the server and its kernels."""

    def _raise(signum, frame):
        _terminated.append(signum)
        raise KeyboardInterrupt(f"received signal {signum}")

    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.fixture(autouse=True)
def _stop_after_sigterm() -> Iterator[None]:
    """Playwright may swallow the KeyboardInterrupt inside its event loop: stop the run anyway."""
    if _terminated:
        pytest.exit(f"stopped by signal {_terminated[0]}", returncode=130)
    yield
    if _terminated:
        pytest.exit(f"stopped by signal {_terminated[0]}", returncode=130)


@pytest.fixture(scope="session")
def lab_server(sigterm_as_interrupt, chromium_path, artifacts_dir) -> Iterator[LabServer]:
    if not jupyter_lab_executable().is_file():
        _missing(f"{jupyter_lab_executable()} not found; run the tests with the course venv")
    server = make_server()
    try:
        server.start()
        yield server
    finally:
        try:
            server.stop()
        finally:
            if server.log_path and server.log_path.exists():
                shutil.copy(server.log_path, artifacts_dir / "jupyterlab.log")
            remove_server_dirs(server)


@pytest.fixture(scope="session")
def browser(sigterm_as_interrupt, chromium_path):
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


class OpenNotebooks:
    """Keeps the last opened notebook (run all done) so widgets of one notebook share the run."""

    def __init__(self, browser, server: LabServer, artifacts: Path):
        self.browser, self.server, self.artifacts = browser, server, artifacts
        self.current: str | None = None
        self.lab: LabPage | None = None
        self.opened = 0

    def _open(self, spec: WidgetSpec | FigureSpec) -> LabPage:
        if self.lab is not None and self.current == spec.notebook:
            return self.lab
        self.close()
        self.server.restore(spec.notebook)
        self.opened += 1
        self.lab = LabPage.open(self.browser, self.server.url, self.server.token)
        self.current = spec.notebook
        self.lab.open_notebook(spec.notebook, workspace=f"e2e-{self.opened}")
        start, load = time.monotonic(), os.getloadavg()[0]
        self.lab.run_all(timeout=spec.run_timeout_s * 1000)
        record_run_time(self.artifacts, spec.notebook, time.monotonic() - start, load)
        return self.lab

    @contextlib.contextmanager
    def using(self, spec: WidgetSpec | FigureSpec) -> Iterator[LabPage]:
        """Yield the tab with the spec's notebook run; after a failure, save a shot and start over."""
        try:
            yield self._open(spec)
        except BaseException:
            if self.lab is not None:
                with contextlib.suppress(Exception):
                    shot = self.artifacts / f"{spec.id}-FAILED.png"
                    self.lab.page.screenshot(path=shot, full_page=True)
            self.close()
            raise

    def close(self) -> None:
        if self.lab is not None:
            with contextlib.suppress(Exception):
                self.lab.close()
        self.lab, self.current = None, None
        with contextlib.suppress(Exception):
            self.server.shutdown_kernels()


@pytest.fixture(scope="session")
def notebooks(lab_server, browser, artifacts_dir) -> Iterator[OpenNotebooks]:
    opened = OpenNotebooks(browser, lab_server, artifacts_dir)
    try:
        yield opened
    finally:
        opened.close()
