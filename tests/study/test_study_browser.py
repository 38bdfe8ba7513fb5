"""The real rating page in Debian's Chromium (Playwright): consent → practice → items → completion.

Shows: answers stay locked until every candidate video has ended; a reload resumes; a resubmitted
judgment (its reply lost) is recorded once; the completion redirect carries the code; and nothing served
(HTML, JS, JSON, URLs, media bytes including container metadata) names a method or an original file.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import pytest
import uvicorn

from jtbench.study.loadcheck import free_port
from jtbench.study.server import create_app

pytestmark = pytest.mark.browser

FAST = "document.addEventListener('play', (e) => { e.target.playbackRate = 4; }, true);"  # 2 s clips end in 0.5 s


@pytest.fixture
def server(study):
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(study), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


def test_rater_walks_through_the_study(chromium_browser, server, study, demo_secrets):
    doc = json.loads((study / "study.json").read_text())
    code = doc["completion"]["code"]
    context = chromium_browser.new_context()
    page = context.new_page()
    page.add_init_script(FAST)
    served: list[tuple[str, bytes]] = []
    states: list[dict] = []

    def keep(response):
        if response.url.startswith(server):
            body = response.body() if response.status != 206 else b""
            served.append((response.url, body))
            if "/api/state" in response.url:
                states.append(json.loads(body))

    page.on("response", keep)
    console_errors: list[str] = []
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: console_errors.append(str(exc)))
    landed: list[str] = []
    context.route(
        "https://app.prolific.com/**", lambda route: (landed.append(route.request.url), route.fulfill(body="done"))
    )
    held: list = []  # the practice item's right-hand video is held back until the test lets it load

    right = f"/media/{doc['practice']['media']['b']}.mp4"  # the practice shows side a on the left

    def hold_right(route):
        if route.request.url.endswith(right) and not held:
            held.append(route)
        else:
            route.continue_()

    page.route("**/media/*.mp4", hold_right)
    page.goto(f"{server}/?PROLIFIC_PID=rater1&STUDY_ID=s1&SESSION_ID=sess1")
    page.wait_for_selector("[data-testid=consent-agree]")
    page.click("[data-testid=consent-agree]")

    # practice: locked while the videos play; still locked with only the left one ended
    page.wait_for_selector("[data-testid=practice]")
    page.wait_for_function("document.querySelector('[data-testid=video-left]').ended")
    dims = states[-1]["item"]["dimensions"]
    assert states[-1]["item"]["right"] == right
    assert held and not page.evaluate("document.querySelector('[data-testid=video-right]').ended")
    assert page.evaluate(f"document.querySelector('[data-testid=answers-{dims[0]}]').disabled")
    assert page.locator(f"[data-testid=answers-{dims[0]}] input").first.is_disabled()
    assert page.is_disabled("[data-testid=submit]")
    held[0].continue_()
    answer_item(page, states[-1])

    # the first real item, then a reload: the page comes back at the next one
    first = wait_for_item(page, states, previous=states[-1]["item"]["item_id"])
    answer_item(page, first)
    second = wait_for_item(page, states, previous=first["item"]["item_id"])
    page.reload()
    resumed = wait_for_item(page, states, previous=None)
    assert resumed["stage"] == "items" and resumed["item"]["item_id"] == second["item"]["item_id"]
    assert page.inner_text("[data-testid=progress-text]") == f"1 / {resumed['progress']['total']}"

    # a lost reply: the judgment reaches the server, the page never hears back and sends it again
    lost = {"done": False}

    def lose_first_reply(route):
        if lost["done"]:
            route.continue_()
            return
        lost["done"] = True
        route.fetch()  # the server stores it...
        route.abort()  # ...and the page sees a network error

    page.route("**/api/judgment", lose_first_reply)
    answer_item(page, resumed)
    state = wait_for_item(page, states, previous=resumed["item"]["item_id"])
    page.unroute("**/api/judgment")
    assert lost["done"]

    while state["stage"] != "done":
        answer_item(page, state)
        state = wait_for_item(page, states, previous=state["item"]["item_id"])
    assert page.inner_text("[data-testid=done-code]") == code
    page.wait_for_url(f"https://app.prolific.com/submissions/complete?cc={code}")
    assert landed == [f"https://app.prolific.com/submissions/complete?cc={code}"]

    lines = [json.loads(x) for x in (study / "ratings" / "rater1.jsonl").read_text().splitlines()]
    ids = Counter(x["judgment_id"] for x in lines)
    assert max(ids.values()) == 1
    assert len({(x["item_id"], x["dimension"]) for x in lines}) == len(lines)
    assigned = sum(
        len(i["dimensions"])
        for i in doc["items"]
        if i["item_id"] in {e["item_id"] for e in doc["assignments"][0]["items"]}
    )
    assert len(lines) == assigned + len(doc["practice"]["dimensions"])
    assert all(x["session_id"] == "sess1" and all(x["played"].values()) for x in lines)

    media_urls = {url for url, _ in served if "/media/" in url}  # videos came in ranges: fetch each whole
    media = [context.request.get(url).body() for url in sorted(media_urls)]
    assert len(media) >= 5 and all(len(b) > 1000 for b in media)
    dropped = [e for e in console_errors if "net::ERR_FAILED" in e]  # the one reply this test aborts on purpose
    assert len(dropped) <= 1 and len(console_errors) == len(dropped), console_errors  # else: a 404 or script error
    text = "\n".join(url for url, _ in served) + "\n".join(b.decode() for u, b in served if "/media/" not in u)
    for secret in demo_secrets:
        assert secret not in text, secret
        assert all(secret.encode() not in body for body in media), secret
    context.close()


def wait_for_item(page, states, previous):
    """The state the page loaded after ``previous`` was answered (or after a reload)."""
    seen = len(states)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        fresh = [s for s in states[max(0, seen - 1) :] if s.get("stage") == "done" or s["item"]["item_id"] != previous]
        if fresh:
            stage = fresh[-1]["stage"]
            page.wait_for_selector(f"[data-testid=main][data-stage={stage}]")
            return fresh[-1]
        page.wait_for_timeout(50)
    raise AssertionError(f"the page did not move on from {previous}")


def answer_item(page, state):
    """Answers unlock only when the videos have ended; then pick the first option of each dimension."""
    dims = state["item"]["dimensions"]
    page.wait_for_selector("[data-testid=prompt]")
    page.wait_for_function(
        "[...document.querySelectorAll('[data-testid^=video-]')].every((v) => v.ended)", timeout=15000
    )
    for dimension in dims:
        first = page.locator(f"[data-testid=answers-{dimension}] input").first
        first.wait_for()
        page.wait_for_function(f"!document.querySelector('[data-testid=answers-{dimension}]').disabled")
        first.check()
    page.click("[data-testid=submit]")
