"""Drive JupyterLab in headless Chromium the way a learner would: open, run all, watch the kernel."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Route, expect

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
KERNEL_IDLE = "Python 3 (ipykernel) | Idle"

# Console errors that are harmless here, each with the reason; everything else fails the test.
# _route aborts every non-loopback request (a CDN icon, a web font) because the tests must not
# reach the internet; Chromium then logs the failed load. Allowed only for a URL we blocked.
BLOCKED_LOAD = re.compile(r"^Failed to load resource: net::ERR_FAILED$")


# Texts of the stderr outputs under `root` that are exceptions, not warnings: JupyterLab renders
# both with the stderr mime type, so tell them apart by the traceback's first or last line.
ERROR_TEXTS_JS = """
(root) => [...root.querySelectorAll(
    '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
  .map(el => el.textContent)
  .filter(t => /Traceback \\(most recent call last\\)|^\\s*\\w*(Error|Exception|Interrupt)\\b/m.test(t))
"""

# True when the notebook has run: every non-empty code cell numbered (none queued or running),
# or a cell raised (then Lab stops the run and the cells after it are never numbered).
_RUN_FINISHED_JS = """
() => {
  const nb = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook');
  if (!nb) return false;
  if ((ERROR_TEXTS)(nb).length > 0) return true;
  return [...nb.querySelectorAll('.jp-CodeCell')].every(cell => {
    const source = (cell.querySelector('.cm-content')?.textContent || '').trim();
    const prompt = (cell.querySelector('.jp-InputArea-prompt')?.textContent || '').trim();
    return source === '' || /^\\[\\d+\\]:$/.test(prompt);
  });
}
""".replace("ERROR_TEXTS", ERROR_TEXTS_JS.strip())


def is_loopback(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"data", "blob", "about"} or (parts.hostname or "") in LOOPBACK_HOSTS


@dataclass
class LabPage:
    """One browser tab on the test server, recording console errors and blocked requests."""

    context: BrowserContext
    page: Page
    base_url: str
    token: str
    console_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, browser: Browser, base_url: str, token: str) -> LabPage:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(30_000)
        page = context.new_page()
        lab = cls(context=context, page=page, base_url=base_url, token=token)
        context.route("**/*", lab._route)
        page.on("console", lab._on_console)
        page.on("pageerror", lambda exc: lab.console_errors.append(f"pageerror: {exc}"))
        return lab

    def _route(self, route: Route) -> None:
        if is_loopback(route.request.url):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def _on_console(self, msg: ConsoleMessage) -> None:
        if msg.type != "error":
            return
        url = msg.location.get("url", "")
        if BLOCKED_LOAD.match(msg.text) and url in self.blocked:
            return
        self.console_errors.append(f"console.error: {msg.text} ({url})")

    def take_console_errors(self) -> list[str]:
        errors, self.console_errors = self.console_errors, []
        return errors

    def close(self) -> None:
        self.context.close()

    # ---- notebook -----------------------------------------------------------------------------
    def open_notebook(self, rel_path: str, workspace: str) -> None:
        """Open one notebook in a fresh, named workspace so nothing else is restored beside it."""
        url = f"{self.base_url}/lab/workspaces/{workspace}/tree/{rel_path}?reset&token={self.token}"
        self.page.goto(url, wait_until="domcontentloaded")
        expect(self.page.locator(".jp-NotebookPanel")).to_have_count(1, timeout=60_000)
        self.wait_kernel_idle(timeout=60_000)

    def wait_kernel_idle(self, timeout: float = 60_000) -> None:
        """The status bar names the kernel only once it exists; before that 'run all' hangs."""
        status = self.page.locator(".jp-StatusBar-Widget").get_by_text(KERNEL_IDLE, exact=True)
        expect(status).to_have_count(1, timeout=timeout)

    def run_all(self, timeout: float = 120_000) -> None:
        """Run > Run All Cells, then wait until every cell ran (or one failed) and Lab is idle."""
        self.page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
        item = self.page.locator(".lm-Menu-item[data-command='runmenu:run-all']")
        expect(item).to_have_count(1)
        item.click()
        self.page.wait_for_function(_RUN_FINISHED_JS, timeout=timeout, polling=200)
        errors = self.page.locator(".jp-NotebookPanel .jp-Notebook").evaluate(ERROR_TEXTS_JS)
        assert not errors, "a cell raised while running all cells:\n" + "\n".join(errors)
        self.wait_kernel_idle(timeout=timeout)

    def cell_count(self) -> int:
        return self.page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").count()
