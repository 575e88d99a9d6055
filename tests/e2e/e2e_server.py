"""Start and stop a private JupyterLab server on a throw-away copy of the course for browser tests."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from course_lib.paths import COURSE_ROOT
from course_lib.repro import THREADS
from course_lib.workspace import make_workspace, write_lab_overrides

# Folders of the course the notebooks may need, copied (relative layout kept) into the server root.
COURSE_DIRS = ("notebooks", "exercises", "solutions", "tests/e2e/fixtures")
COPY_IGNORE = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc")

# User settings that keep JupyterLab deterministic: no autosave (a test saves only when it
# means to), every cell attached to the DOM. The news pop-up and widget-state saving come from
# the course's own settings (course_lib/workspace.py), which the tests must see as shipped.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}

# Server-side switches: the server itself must never try to reach the internet either.
SERVER_CONFIG = {
    "LabApp": {
        "news_url": None,
        "check_for_updates_class": "jupyterlab.handlers.announcements.NeverCheckForUpdate",
        "extension_manager": "readonly",
    },
}


def jupyter_lab_executable() -> Path:
    """The jupyter-lab of the Python running the tests, so the kernel sees the same packages."""
    return Path(sys.executable).parent / "jupyter-lab"


def free_port() -> int:
    """Ask the OS for a loopback port nobody is listening on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def strip_outputs(notebook: Path) -> None:
    """Drop saved outputs so 'execution finished' can be read from fresh prompts."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    nb.get("metadata", {}).pop("widgets", None)
    notebook.write_text(json.dumps(nb, indent=1) + "\n", encoding="utf-8")


@dataclass
class LabServer:
    """One running jupyter-lab process with its isolated directories."""

    base: Path
    port: int = 0
    token: str = field(default_factory=lambda: secrets.token_hex(24))
    proc: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def root(self) -> Path:
        return self.base / "course"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ---- course copy -------------------------------------------------------------------------
    def copy_course(self) -> None:
        for rel in COURSE_DIRS:
            src = COURSE_ROOT / rel
            if src.is_dir():
                shutil.copytree(src, self.root / rel, ignore=COPY_IGNORE, dirs_exist_ok=True)
        self.root.mkdir(parents=True, exist_ok=True)
        for nb in self.root.rglob("*.ipynb"):
            strip_outputs(nb)
        # the learner's workspace, as `make lab` makes it: pristine copies, stored outputs kept
        make_workspace(self.root / "work", COURSE_ROOT)

    def restore(self, rel_path: str) -> None:
        """Put back a pristine copy of one notebook before a test opens it."""
        dst = self.root / rel_path
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(COURSE_ROOT / rel_path, dst)
        strip_outputs(dst)

    # ---- process -----------------------------------------------------------------------------
    def _env(self) -> dict[str, str]:
        dirs = {
            "JUPYTER_CONFIG_DIR": "config",
            "JUPYTER_DATA_DIR": "data",
            "JUPYTER_RUNTIME_DIR": "runtime",
            "JUPYTERLAB_SETTINGS_DIR": "settings",
            "JUPYTERLAB_WORKSPACES_DIR": "workspaces",
            "IPYTHONDIR": "ipython",
        }
        env = dict(os.environ)
        for var, name in dirs.items():
            path = self.base / name
            path.mkdir(parents=True, exist_ok=True)
            env[var] = str(path)
        env["JUPYTER_PLATFORM_DIRS"] = "1"
        env.setdefault("OMP_NUM_THREADS", str(THREADS))
        env.pop("MPLBACKEND", None)  # the notebook picks its own matplotlib backend
        return env

    def _write_settings(self) -> None:
        write_lab_overrides()  # the course's own settings, as `make lab` writes them
        for plugin, values in LAB_SETTINGS.items():
            path = self.base / "settings" / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values), encoding="utf-8")
        config = self.base / "config" / "jupyter_server_config.json"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(json.dumps(SERVER_CONFIG), encoding="utf-8")

    def _command(self) -> list[str]:
        return [
            str(jupyter_lab_executable()),
            "--allow-root",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--ServerApp.terminals_enabled=False",
        ]

    def start(self, timeout: float = 90.0, attempts: int = 3) -> None:
        """Launch and wait until /api/status answers; retry on a stolen port."""
        self.copy_course()
        env = self._env()
        self._write_settings()
        self.log_path = self.base / "jupyterlab.log"
        last_error = ""
        for _ in range(attempts):
            self.port = free_port()
            with open(self.log_path, "ab") as log:
                # Own process group, so stop() can signal the server without touching pytest.
                self.proc = subprocess.Popen(
                    self._command(),
                    cwd=self.root,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            last_error = self._wait_ready(timeout)
            if not last_error:
                return
            self.stop()
        raise RuntimeError(f"JupyterLab did not start: {last_error}\n{self.log_tail()}")

    def _wait_ready(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return f"jupyter-lab exited with code {self.proc.returncode}"
            try:
                self.api("GET", "/api/status", timeout=2)
                return ""
            except (OSError, urllib.error.URLError):
                time.sleep(0.25)
        return f"no answer on {self.url} after {timeout:.0f} s"

    def log_tail(self, n_chars: int = 4000) -> str:
        if self.log_path and self.log_path.exists():
            return self.log_path.read_text(errors="replace")[-n_chars:]
        return ""

    # ---- REST ----------------------------------------------------------------------------------
    def api(self, method: str, path: str, timeout: float = 10.0):
        request = urllib.request.Request(
            self.url + path, method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """End every notebook session (and so its kernel) the browser opened."""
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")
        for kernel in self.api("GET", "/api/kernels"):
            self.api("DELETE", f"/api/kernels/{kernel['id']}")

    def stop(self) -> None:
        """Stop the server and its kernels, gently first; kernels live in their own sessions."""
        if self.proc is None:
            return
        try:
            leftovers = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.Error:
            leftovers = []
        if self.proc.poll() is None:
            try:
                self.api("POST", "/api/shutdown", timeout=5)
            except (OSError, urllib.error.URLError):
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._signal_group(signal.SIGKILL)
                    self.proc.wait(timeout=5)
        self._signal_group(signal.SIGKILL)  # anything the server started in its group
        alive = [p for p in leftovers if p.is_running()]
        for child in alive:
            try:
                child.terminate()
            except psutil.Error:
                pass
        _, alive = psutil.wait_procs(alive, timeout=5)
        for child in alive:
            try:
                child.kill()
            except psutil.Error:
                pass
        self.proc = None

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def make_server() -> LabServer:
    return LabServer(base=Path(tempfile.mkdtemp(prefix="e2e-lab-")))


def remove_server_dirs(server: LabServer) -> None:
    shutil.rmtree(server.base, ignore_errors=True)
