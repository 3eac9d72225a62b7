"""One real-browser test: `streamlit run` on a free port, Debian's chromium through playwright."""
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from workbench.papers import all_papers

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(script: Path, folder: Path, env: dict | None = None):
    """`streamlit run script` on a free port (its log in ``folder``, ``env`` added to the environment); the URL."""
    port = _free_port()
    log = open(folder / "streamlit.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("streamlit did not start: " + (folder / "streamlit.log").read_text()[-2000:])
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def launch(p):
    """Debian's chromium through playwright ``p``."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Debian's chromium is missing; `make test` installs it (apt-get install chromium)")
    return p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)


@pytest.fixture
def server(tmp_path):
    with serve(ROOT / "dashboard" / "app.py", tmp_path) as url:
        yield url


@pytest.mark.slow
@pytest.mark.browser
def test_home_lists_the_ten_papers_in_chromium(server, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(server)
            page.get_by_text("P10 — TrinityX").wait_for(timeout=90_000)
            body = page.inner_text("body")
            for paper in all_papers():
                assert f"{paper.id} — {paper.short_name}" in body
            assert "Profile default" in body
            page.get_by_role("link", name="Claims vs ours").first.click()
            page.get_by_text("not measured").first.wait_for(timeout=60_000)
            assert "Claims vs ours" in page.inner_text("body")
            page.get_by_role("link", name="Model zoo").click()
            page.get_by_text("Try the default models").wait_for(timeout=60_000)
            page.screenshot(path=str(tmp_path / "model_zoo.png"))
        finally:
            browser.close()
