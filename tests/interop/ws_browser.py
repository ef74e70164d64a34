"""The web chat page in a real browser (issue #19, docs/WEB.md), driven by tests/interop/ws_browser.sh.

Two headless Chromium sessions (Debian's chromium + chromium-driver through python3-selenium,
each with its own temporary profile) open the page served by `sockit chat-server --ws-listen`,
and an ii client (files under --ii) is the third party, all in #sockit. Checks: each sees the
others' messages and joins, a nick change, the topic, /me, the nick list, an unread marker, a
phone-sized layout, a nick in use (nick_), /quit, a dropped connection reconnected and rejoined
with the history (CHATHISTORY LATEST), the nick remembered in localStorage, an HTML-injection
message shown as text, and no Content-Security-Policy violation in the browsers' logs. Every wait polls a condition with a deadline
(WebDriverWait). --screenshot PATH writes a PNG of the first page at the end.
Exit 0: all passed, 1: a check failed.
"""
import argparse
import concurrent.futures
import os
import sys
import tempfile
import time

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

WAIT = 10  # seconds for one condition
T0 = time.monotonic()
fails = 0


def check(ok, what, got=""):
    global fails
    print(("ok   - " if ok else "FAIL - ") + what + ("" if ok else f"  [got {got!r}]") + f"  ({time.monotonic() - T0:.1f} s)",
          flush=True)
    if not ok:
        fails += 1


def until(driver, cond, what, got=lambda: ""):
    """Waits (polling) until cond(driver) is true; one check either way."""
    try:
        WebDriverWait(driver, WAIT, poll_frequency=0.05).until(lambda d: cond(d))
        check(True, what)
        return True
    except TimeoutException:
        check(False, what, got())
        return False


def file_until(path, text, what):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                if text in f.read():
                    check(True, what)
                    return True
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    tail = open(path, errors="replace").read()[-400:] if os.path.exists(path) else "(no file)"
    check(False, what, tail)
    return False


def browser(profile):
    opts = Options()
    opts.binary_location = "/usr/bin/chromium"
    for a in ["--headless=new", f"--user-data-dir={profile}", "--window-size=1100,640", "--disable-gpu",
              "--no-first-run", "--disable-extensions", "--disable-dev-shm-usage", "--lang=en-US"]:
        opts.add_argument(a)
    if os.geteuid() == 0:
        opts.add_argument("--no-sandbox")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def log_text(d):
    return d.find_element(By.ID, "log").text


def nicks(d):
    return [li.get_attribute("data-nick") for li in d.find_elements(By.CSS_SELECTOR, "#nicks li")]


def type_line(d, text):
    box = d.find_element(By.ID, "msg")
    box.send_keys(text)
    box.send_keys(Keys.ENTER)


def login(d, url, nick):
    d.get(url)
    d.find_element(By.ID, "nick").clear()
    d.find_element(By.ID, "nick").send_keys(nick)
    d.find_element(By.ID, "autojoin").clear()
    d.find_element(By.ID, "autojoin").send_keys("#sockit")
    d.find_element(By.ID, "connect").click()


def csp_violations(d):
    try:
        return [e["message"] for e in d.get_log("browser") if "Content Security Policy" in e["message"]]
    except WebDriverException:
        return []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ws", type=int, required=True)
    ap.add_argument("--ii", required=True, help="ii's server directory (…/127.0.0.1)")
    ap.add_argument("--ii-nick", default="iiuser")
    ap.add_argument("--screenshot")
    args = ap.parse_args()
    url = f"http://127.0.0.1:{args.ws}/"
    chan_out = os.path.join(args.ii, "#sockit", "out")
    chan_in = os.path.join(args.ii, "#sockit", "in")
    ii = args.ii_nick

    def ii_say(line):
        # ii's input FIFO; O_NONBLOCK so that a dead ii (no reader) fails instead of blocking.
        fd = os.open(chan_in, os.O_WRONLY | os.O_NONBLOCK)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)

    drivers = []
    with tempfile.TemporaryDirectory() as p1, tempfile.TemporaryDirectory() as p2:
        try:
            t0 = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(2) as pool:  # both start at once (each takes seconds)
                started = [pool.submit(browser, p) for p in (p1, p2)]
                for f in started:
                    try:
                        drivers.append(f.result())
                    except WebDriverException as e:
                        check(False, "a headless Chromium session starts", str(e).splitlines()[0] if str(e) else repr(e))
            if len(drivers) < 2:
                raise WebDriverException("a browser did not start")
            a, b = drivers
            print(f"# two headless Chromium sessions up in {time.monotonic() - t0:.1f} s", flush=True)

            print("# alice and bob open the page and join #sockit, where the ii user is")
            login(a, url, "alice")
            check(a.title == "sockit chat", "the page loads (title 'sockit chat')", a.title)
            until(a, lambda d: "alice" in nicks(d) and ii in nicks(d), "alice's nick list: alice and the ii user",
                  lambda: nicks(a))
            login(b, url, "bob")
            until(b, lambda d: {"alice", "bob", ii} <= set(nicks(d)), "bob's nick list: alice, bob and the ii user",
                  lambda: nicks(b))
            until(a, lambda d: "bob joined" in log_text(d) and "bob" in nicks(d), "alice sees bob join", lambda: log_text(a))
            file_until(chan_out, "bob(", "ii sees bob join")
            file_until(chan_out, "alice(", "ii sees alice join")
            check(a.execute_script("return localStorage.getItem('sockit.nick')") == "alice",
                  "the nick is remembered in localStorage")
            check(a.find_element(By.CSS_SELECTOR, '#channels li[data-buffer="#sockit"]').is_displayed(),
                  "#sockit in the channel list")

            print("# messages, each way")
            type_line(a, "hello from alice")
            until(b, lambda d: "hello from alice" in log_text(d), "bob sees alice's message", lambda: log_text(b))
            file_until(chan_out, "<alice> hello from alice", "ii sees alice's message")
            ii_say("hello from ii")
            until(a, lambda d: "hello from ii" in log_text(d), "alice sees the ii user's message", lambda: log_text(a))
            until(b, lambda d: "hello from ii" in log_text(d), "bob sees the ii user's message", lambda: log_text(b))
            type_line(b, "hi, bob here")
            until(a, lambda d: "hi, bob here" in log_text(d), "alice sees bob's message", lambda: log_text(a))
            file_until(chan_out, "<bob> hi, bob here", "ii sees bob's message")
            stamp = a.find_elements(By.CSS_SELECTOR, "#log .line time.time")
            check(len(stamp) > 0 and len(stamp[-1].text) >= 4, "messages carry a timestamp",
                  [s.text for s in stamp[-2:]])
            type_line(a, "/me waves")
            until(b, lambda d: "waves" in log_text(d) and d.find_elements(By.CSS_SELECTOR, "#log .line.action"),
                  "/me: bob sees alice's action", lambda: log_text(b))
            file_until(chan_out, "ACTION waves", "/me: ii sees the action")

            print("# HTML injection is shown as text")
            evil = '<img src=x onerror="document.title=\'pwned\'"><b>bold</b>'
            type_line(b, evil)
            until(a, lambda d: evil in log_text(d), "alice sees the injection message as literal text", lambda: log_text(a))
            check(len(a.find_elements(By.CSS_SELECTOR, "#log img, #log b")) == 0, "no <img> or <b> element was made")
            check(a.title == "sockit chat" and b.title == "sockit chat", "no script ran (the title is unchanged)",
                  (a.title, b.title))
            file_until(chan_out, "<bob> <img src=x", "ii sees the same text")

            print("# topic")
            ii_say("/t the topic from ii")
            until(a, lambda d: d.find_element(By.ID, "topic").text == "the topic from ii", "alice sees the topic",
                  lambda: a.find_element(By.ID, "topic").text)
            until(b, lambda d: d.find_element(By.ID, "topic").text == "the topic from ii", "bob sees the topic",
                  lambda: b.find_element(By.ID, "topic").text)

            print("# nick change")
            type_line(b, "/nick bobby")
            until(a, lambda d: "bob is now known as bobby" in log_text(d) and "bobby" in nicks(d) and "bob" not in nicks(d),
                  "alice sees bob become bobby (message and nick list)", lambda: (log_text(a)[-200:], nicks(a)))
            until(b, lambda d: d.find_element(By.ID, "me").text == "bobby", "bob's page shows the new nick",
                  lambda: b.find_element(By.ID, "me").text)
            file_until(os.path.join(args.ii, "out"), "bobby", "ii sees the nick change")
            type_line(b, "still me")
            file_until(chan_out, "<bobby> still me", "ii sees the next message under the new nick")

            print("# a second channel and the unread marker")
            type_line(a, "/join #other")
            until(a, lambda d: d.find_elements(By.CSS_SELECTOR, '#channels li.active[data-buffer="#other"]'),
                  "/join #other: alice's view switches to #other")
            ii_say("while you were away")
            until(a, lambda d: d.find_elements(By.CSS_SELECTOR, '#channels li.unread[data-buffer="#sockit"] .badge'),
                  "#sockit gets an unread marker while #other is in view")
            a.find_element(By.CSS_SELECTOR, '#channels li[data-buffer="#sockit"]').click()
            until(a, lambda d: "while you were away" in log_text(d) and
                  not d.find_elements(By.CSS_SELECTOR, '#channels li.unread[data-buffer="#sockit"]'),
                  "back on #sockit: the message is there and the marker gone")
            type_line(b, "/msg alice a private word")
            until(a, lambda d: d.find_elements(By.CSS_SELECTOR, '#channels li.unread[data-buffer="bobby"]'),
                  "/msg: alice gets bobby's private message in its own buffer, marked unread")

            for name, d in (("alice", a), ("bob", b)):
                v = csp_violations(d)
                check(not v, f"{name}'s browser reports no Content-Security-Policy violation", v[:2])

            print("# reconnect with backoff, rejoin, and the history on join (CHATHISTORY LATEST)")
            b.execute_script("state.ws.close()")  # the connection drops (as a network change would do)
            until(b, lambda d: d.find_element(By.ID, "status").text.startswith("reconnecting"),
                  "bob's page says it is reconnecting", lambda: b.find_element(By.ID, "status").text)
            until(b, lambda d: d.find_element(By.ID, "status").text == "connected" and "alice" in nicks(d)
                  and d.find_elements(By.CSS_SELECTOR, '#channels li.active[data-buffer="#sockit"]'),
                  "bob is back, in #sockit again", lambda: (b.find_element(By.ID, "status").text, nicks(b)))
            until(a, lambda d: "bobby quit" in log_text(d) and log_text(d).count("bobby joined") == 1,
                  "alice sees bobby quit and join again", lambda: log_text(a)[-300:])
            until(b, lambda d: "hello from alice" in log_text(d) and "hello from ii" in log_text(d)
                  and len(d.find_elements(By.CSS_SELECTOR, "#log .line.history")) >= 5,
                  "bob's #sockit is filled from the server's history on rejoin", lambda: log_text(b)[-300:])
            stamps = [t.get_attribute("datetime") for t in b.find_elements(By.CSS_SELECTOR, "#log .line.history time")]
            check(len(stamps) >= 5 and stamps == sorted(stamps), "the history lines keep their server-time, in order",
                  stamps[:3])

            print("# a nick in use, and /quit")
            first = a.current_window_handle
            a.switch_to.new_window("tab")  # a second page of alice's browser, asking for "alice" again
            a.get(url)
            until(a, lambda d: d.find_element(By.ID, "nick").get_attribute("value") == "alice",
                  "a new page offers the remembered nick", lambda: a.find_element(By.ID, "nick").get_attribute("value"))
            login(a, url, "alice")
            until(a, lambda d: d.find_element(By.ID, "me").text == "alice_" and "alice_" in nicks(d),
                  "a second 'alice' is told the nick is in use and becomes alice_", lambda: a.find_element(By.ID, "me").text)
            until(b, lambda d: "alice_ joined" in log_text(d), "bob sees alice_ join", lambda: log_text(b)[-200:])
            type_line(a, "/quit see you")
            until(b, lambda d: "alice_ quit" in log_text(d) and "alice_" not in nicks(d), "/quit: bob sees alice_ leave",
                  lambda: log_text(b)[-200:])
            until(a, lambda d: d.find_element(By.ID, "status").text == "disconnected", "after /quit the page stays off",
                  lambda: a.find_element(By.ID, "status").text)
            a.close()
            a.switch_to.window(first)

            print("# a phone-sized screen")
            b.set_window_size(390, 844)
            until(b, lambda d: not d.find_element(By.ID, "users").is_displayed() and d.find_element(By.ID, "msg").is_displayed()
                  and d.find_element(By.ID, "log").size["width"] > 300,
                  "390 px wide: the nick list folds away, the log takes the width, the input stays",
                  lambda: b.find_element(By.ID, "log").size)

            if args.screenshot:
                a.find_element(By.ID, "msg").send_keys("typing…")
                a.save_screenshot(args.screenshot)
                check(os.path.getsize(args.screenshot) > 10000, f"screenshot written to {args.screenshot}")
        except WebDriverException as e:
            check(False, "the browser session", str(e).splitlines()[0] if str(e) else repr(e))
        finally:
            for d in drivers:
                try:
                    d.quit()
                except WebDriverException:
                    pass
    print(f"# ws_browser: {fails} failed, {time.monotonic() - T0:.1f} s")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
