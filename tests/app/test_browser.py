"""A person's view: headless Chromium opens the page that the app's server serves."""

from __future__ import annotations

import shutil

import pytest

from tests.support import APP_SERVER, clean_env, serving

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
# The flags a sandboxed, offline machine needs: no background calls home, no GPU, root-safe.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine: `apt-get install chromium` to run it"),
]


def test_a_browser_sees_five_actors_and_no_policy_violations(actors_database_url, tmp_path):
    from playwright.sync_api import sync_playwright

    env = clean_env(DATABASE_URL=actors_database_url, HOSTNAME="browser-test")
    with serving(APP_SERVER, env) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            problems: list[str] = []
            page.on("console", lambda message: message.type == "error" and problems.append(message.text))
            page.on("pageerror", lambda error: problems.append(str(error)))
            response = page.goto(server.url + "/")
            assert response is not None and response.status == 200
            names = page.locator("li.actor").all_inner_texts()
            assert len(names) == 5
            assert all(name.strip().startswith("Actor") for name in names)
            assert page.locator("#server").inner_text() == "browser-test"
            # the stylesheet loaded under the CSP: the list lost its bullets
            assert page.locator("ol.actors").evaluate("el => getComputedStyle(el).listStyleType") == "none"
            page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
            assert problems == []
        finally:
            browser.close()
