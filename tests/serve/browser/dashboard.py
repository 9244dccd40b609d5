"""The dashboard in a real browser (Debian's chromium, driven by Playwright).

Run by tests/serve/dashboard.rs with BASE (the service's address), TOKEN,
SECRET (the GitHub webhook secret), ISSUE (the example issue's payload, as
JSON) and SHOT (where the run page's screenshot goes). Prints a JSON line
with what it saw; fails with a message on anything unexpected.
"""

import hashlib
import hmac
import json
import os
import sys
import urllib.request

from playwright.sync_api import sync_playwright

BASE = os.environ["BASE"]
TOKEN = os.environ["TOKEN"]
SECRET = os.environ["SECRET"].encode()
ISSUE = json.loads(os.environ["ISSUE"])
SHOT = os.environ["SHOT"]
LONG = 240_000


def deliver():
    body = json.dumps(
        {"action": "opened", "issue": ISSUE, "repository": {"full_name": "acme/calc"}}
    ).encode()
    sig = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    req = urllib.request.Request(
        BASE + "/hooks/github",
        data=body,
        headers={
            "x-github-event": "issues",
            "x-github-delivery": "browser-1",
            "x-hub-signature-256": sig,
            "content-type": "application/json",
        },
    )
    with urllib.request.urlopen(req) as r:
        assert r.status == 202, r.status
        return json.loads(r.read())["task_id"]


def main():
    seen = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"],
        )
        page = browser.new_context().new_page()
        # Not signed in: the sign-in page, with a 401.
        r = page.goto(BASE + "/")
        assert r.status == 401, r.status
        page.fill("input[name=token]", "not the token")
        page.click("button[type=submit]")
        assert page.locator("p.failed").count() == 1, page.content()
        page.fill("input[name=token]", TOKEN)
        page.click("button[type=submit]")
        page.wait_for_selector("#queue")
        seen["signed_in"] = page.url
        # Live: the page follows the event stream.
        page.wait_for_function("document.getElementById('live').textContent === 'live'")
        page.evaluate("window.__notReloaded = true")

        task = deliver()
        seen["task"] = task
        # The task appears and moves on without a reload.
        page.wait_for_selector(f"#queue tr[data-task='{task}']", timeout=LONG)
        page.wait_for_function(
            f"document.querySelector(\"#queue tr[data-task='{task}'] .state\")?.textContent === 'done'",
            timeout=LONG,
        )
        assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"
        seen["redrawn"] = page.evaluate("document.body.getAttribute('data-redrawn') !== null")

        # The approvals inbox: the draft with its evidence; approve it.
        draft = page.locator("#inbox [data-draft]")
        draft.wait_for(timeout=LONG)
        run = draft.get_attribute("data-draft")
        seen["run"] = run
        text = draft.inner_text()
        assert "tests-pass" in text and "Test evidence" in text, text
        assert draft.locator("details pre.diff").count() == 1
        draft.locator("button.approve").click()
        page.wait_for_selector("#notice")
        notice = page.inner_text("#notice")
        seen["notice"] = notice
        assert "merged into main" in notice, notice
        assert page.inner_text("#run-status") == "done"
        assert "approved" in page.inner_text("#decision")

        # The run page: the timeline, costs per role, gates.
        lanes = page.locator("svg.timeline g.lane").count()
        bars = page.locator("svg.timeline rect.bar").count()
        gates = page.locator("svg.timeline g.mark.gate").count()
        feedback = page.locator("svg.timeline g.mark.feedback").count()
        assert lanes >= 4 and bars >= 5 and gates >= 1 and feedback >= 1, (lanes, bars, gates, feedback)
        seen["lanes"], seen["bars"] = lanes, bars
        assert page.locator("#costs tr").count() >= 2
        page.screenshot(path=SHOT, full_page=True)

        # With JavaScript off, pages still render (the bearer header signs in).
        ctx = browser.new_context(
            java_script_enabled=False,
            extra_http_headers={"Authorization": "Bearer " + TOKEN},
        )
        static = ctx.new_page()
        r = static.goto(BASE + "/")
        assert r.status == 200, r.status
        assert static.locator(f"#queue tr[data-task='{task}']").count() == 1
        assert static.inner_text("#live") == "static"
        r = static.goto(BASE + "/runs/" + run)
        assert r.status == 200 and static.locator("svg.timeline").count() == 1
        browser.close()
    print(json.dumps(seen))


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"dashboard check failed: {e!r}", file=sys.stderr)
        raise
