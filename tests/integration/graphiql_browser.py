#!/usr/bin/env python3
# graphiql_browser: drives Debian's headless Chromium through chromedriver (W3C WebDriver over
# HTTP, standard library only): opens the GraphiQL page, clicks Run, reads the result on the page.
#
# usage: graphiql_browser.py CHROMEDRIVER_URL PAGE_URL EXPECTED_TEXT SCREENSHOT_PNG
# Prints one "ok - ..." or "not ok - ..." line per check; exits 0 only when all pass.
import base64
import json
import sys
import tempfile
import time
import urllib.request

ELEMENT_KEY = "element-6066-11e4-a52e-4f735466cecf"


class WebDriver:
    def __init__(self, base_url):
        self.base_url = base_url.rstrip("/")
        self.session = None

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=180) as response:
                return json.load(response)["value"]
        except urllib.error.HTTPError as error:
            raise RuntimeError("%s %s: %s" % (method, path, error.read().decode(errors="replace")[:500]))

    def start(self, profile_dir):
        arguments = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--no-first-run", "--disable-quic", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                     "--user-data-dir=" + profile_dir]
        value = self.call("POST", "/session", {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": arguments}}}})
        self.session = value["sessionId"]

    def command(self, method, path, body=None):
        return self.call(method, "/session/%s%s" % (self.session, path), body)

    def script(self, source, *arguments):
        return self.command("POST", "/execute/sync", {"script": source, "args": list(arguments)})

    def wait_for(self, source, timeout, *arguments):
        """Polls a script until it returns a truthy value; returns it, or None on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.script(source, *arguments)
            if value:
                return value
            time.sleep(0.2)
        return None

    def stop(self):
        if self.session:
            try:
                self.command("DELETE", "")
            except Exception:
                pass


def main():
    driver_url, page_url, expected, screenshot = sys.argv[1:5]
    failures = 0

    def check(condition, message, detail=""):
        nonlocal failures
        if condition:
            print("ok - " + message)
        else:
            failures += 1
            print("not ok - " + message + (("\n    " + detail) if detail else ""))

    driver = WebDriver(driver_url)
    with tempfile.TemporaryDirectory() as profile:
        try:
            driver.start(profile)
            driver.command("POST", "/url", {"url": page_url})
            button = driver.wait_for(
                "return document.querySelector('.graphiql-execute-button');", 90)
            check(button is not None, "GraphiQL renders its Run button")
            if button is None:
                body = driver.script("return document.body ? document.body.innerText.slice(0, 300) : '';")
                print("    page text: %r" % body)
                return 1
            editor = driver.script(
                "var e = document.querySelector('.graphiql-query-editor');"
                "return e ? e.innerText : '';")
            check("users" in (editor or ""), "the query from the URL is in the editor", repr(editor))

            driver.command("POST", "/element/%s/click" % button[ELEMENT_KEY], {})
            result = driver.wait_for(
                "var r = document.querySelector('.graphiql-response') || document.querySelector('.result-window');"
                "var t = r ? r.innerText : '';"
                "return t.indexOf(arguments[0]) >= 0 ? t : null;", 60, expected)
            shown = driver.script(
                "var r = document.querySelector('.graphiql-response') || document.querySelector('.result-window');"
                "return r ? r.innerText : '';")
            check(result is not None, "clicking Run shows %r in the result pane" % expected, repr(shown)[:400])
            check('"errors"' not in (shown or ""), "the result has no errors", repr(shown)[:400])

            # Every resource the page loaded came from the server itself: it
            # works with no internet access.
            resources = driver.script(
                "return performance.getEntriesByType('resource').map(function (e) { return e.name; });")
            origin = page_url.split("/graphql")[0]
            foreign = [name for name in resources if not name.startswith(origin) and not name.startswith("data:")]
            check(not foreign, "the page loads nothing from outside the server", repr(foreign)[:400])

            png = driver.command("GET", "/screenshot")
            with open(screenshot, "wb") as out:
                out.write(base64.b64decode(png))
            print("screenshot: " + screenshot)
        except Exception as error:  # a WebDriver failure is a test failure, with its reason
            check(False, "the browser session ran", str(error))
        finally:
            driver.stop()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
