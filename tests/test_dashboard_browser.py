"""In chromium: a build started from a view goes on while the user is on Home and after a page reload, and is
cancelled from the view. The build is a stand-in (a slow progress loop), not a paper build."""
import time

import pytest
from test_browser import ROOT, launch, serve

# The dashboard with `workbench build P…` replaced by a ten-minute progress loop that writes nothing.
APP = f"""
import runpy, sys
sys.path.insert(0, {str(ROOT)!r})
from workbench import jobs
SLOW = "import time\\nfor i in range(1201):\\n    print(f'building P1: {{i // 12}}%| step {{i}}/1200', flush=True)\\n    time.sleep(0.5)\\n"
jobs.build_command = lambda paper, **kw: [sys.executable, "-c", SLOW]
runpy.run_path({str(ROOT / "dashboard" / "app.py")!r}, run_name="__main__")
"""


@pytest.mark.slow
@pytest.mark.browser
def test_a_build_survives_navigation_and_reload_in_chromium(tmp_path):
    from playwright.sync_api import sync_playwright

    from workbench import jobs

    home = tmp_path / "home"
    folder = home / "jobs"
    (tmp_path / "app.py").write_text(APP)
    try:
        with serve(tmp_path / "app.py", tmp_path, {"WORKBENCH_HOME": str(home)}) as url, sync_playwright() as p:
            browser = launch(p)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(f"{url}/taxonomy")
                page.get_by_role("button", name="Build P1 artifacts").click(timeout=120_000)
                page.get_by_text("P1 building").first.wait_for(timeout=120_000)
                started = jobs.get("P1", folder)
                assert started.active

                page.get_by_role("link", name="Home").first.click(timeout=120_000)          # navigate away
                page.get_by_text("Build jobs").wait_for(timeout=120_000)
                page.get_by_text("P1 building").first.wait_for(timeout=120_000)
                time.sleep(2)
                assert jobs.get("P1", folder).active
                page.reload()                                                  # a reload forgets the page
                page.get_by_text("P1 building").first.wait_for(timeout=120_000)
                page.goto(f"{url}/taxonomy")                                  # a new page load of the view
                page.get_by_role("button", name="Cancel the P1 build").click(timeout=120_000)
                page.get_by_text("cancelled").first.wait_for(timeout=120_000)
                again = jobs.get("P1", folder)
                assert again.status == "cancelled" and again.pid == started.pid   # the same job all along
                assert jobs.progress(again).fraction > 0
            finally:
                browser.close()
    finally:
        if folder.is_dir():
            for job in jobs.all_jobs(folder):
                jobs.cancel(job.paper, folder)
