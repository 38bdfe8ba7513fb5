"""The rating page's ASGI app (Starlette, served by uvicorn on 127.0.0.1): pages, media, state, submit.

No business logic beyond validation: the plan says who rates what (study.json), store.py keeps the
judgments. Nothing served names a method or an original file: items go out as prompt + opaque media
URLs, and only the files the study's items name are served from ``media/`` (``private/`` never is).
Every bad request gets a 4xx with a reason and writes nothing.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from jtbench.errors import InputError
from jtbench.study.store import RATER_ID, RatingStore, SlotBook, load_study

STATIC = Path(__file__).parent / "static"
JUDGMENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,80}$")
SESSION_ID = re.compile(r"^[A-Za-z0-9_.-]{0,80}$")
NO_STORE = {"Cache-Control": "no-store"}
MAX_BODY = 64 * 1024  # a judgment is a few hundred bytes


class BadRequest(Exception):
    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason, self.status = reason, status


class StudyState:
    """The study as the server needs it: items, assignments by slot, media files, ratings, slots."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.study = load_study(folder)
        self.items = {i["item_id"]: i for i in self.study["items"]}
        self.practice = self.study.get("practice")
        if self.practice:
            self.items[self.practice["item_id"]] = self.practice
        self.dimensions = {d["id"]: d for d in self.study["dimensions"]}
        self.slots = [{e["item_id"]: e["position_a"] for e in a["items"]} for a in self.study["assignments"]]
        self.orders = [[e["item_id"] for e in a["items"]] for a in self.study["assignments"]]
        tokens = {
            t
            for i in self.items.values()
            for t in [*i["media"].values(), *i["refs"]["images"], i["refs"]["motion"]]
            if t
        }
        self.files = {p.stem: p.name for p in (folder / "media").glob("*") if p.stem in tokens and p.is_file()}
        missing = tokens - set(self.files)
        if missing:
            raise InputError(
                f"{len(missing)} media file(s) of the study are missing",
                file=folder / "media",
                fix="re-run the same `jtbench study create` command to finish transcoding",
            )
        self.store = RatingStore(folder / "ratings")
        self.book = SlotBook(folder / "sessions.jsonl", len(self.slots))

    # -- views ---------------------------------------------------------------------------------
    def url(self, token: str | None) -> str | None:
        return f"/media/{self.files[token]}" if token else None

    def position(self, rater_id: str, item_id: str) -> str:
        if self.practice and item_id == self.practice["item_id"]:
            return "left"
        return self.slots[self.book.slot_of[rater_id]][item_id]

    def public_item(self, rater_id: str, item: dict[str, Any], remaining: list[str]) -> dict[str, Any]:
        media = item["media"]
        view: dict[str, Any] = {
            "item_id": item["item_id"],
            "prompt": item["prompt"],
            "dimensions": remaining,
            "references": {
                "images": [self.url(t) for t in item["refs"]["images"]],
                "motion": self.url(item["refs"]["motion"]),
            },
        }
        if "b" in media:
            left, right = self.sides(rater_id, item)
            view.update(left=self.url(left), right=self.url(right), left_token=left, right_token=right)
        else:
            view.update(video=self.url(media["a"]), left_token=media["a"], right_token=None)
        return view

    def sides(self, rater_id: str, item: dict[str, Any]) -> tuple[str, str | None]:
        media = item["media"]
        if "b" not in media:
            return media["a"], None
        if self.position(rater_id, item["item_id"]) == "left":
            return media["a"], media["b"]
        return media["b"], media["a"]

    def remaining(self, rater_id: str, item: dict[str, Any]) -> list[str]:
        answered = self.store.log(rater_id).answered
        return [d for d in item["dimensions"] if (item["item_id"], d) not in answered]

    def progress(self, rater_id: str) -> dict[str, int]:
        order = self.orders[self.book.slot_of[rater_id]]
        done = sum(1 for i in order if not self.remaining(rater_id, self.items[i]))
        return {"done": done, "total": len(order)}

    def state(self, rater_id: str) -> dict[str, Any]:
        texts = self.study["texts"]
        base = {
            "title": texts.get("title", ""),
            "dimensions": list(self.dimensions.values()),
            "ui_version": self.study["ui_version"],
        }
        if rater_id not in self.book.slot_of:
            return {**base, "stage": "consent", "consent": texts.get("consent", "")}
        base["progress"] = self.progress(rater_id)
        if self.practice and self.remaining(rater_id, self.practice):
            item = self.practice
            return {
                **base,
                "stage": "practice",
                "instructions": texts.get("instructions", ""),
                "item": self.public_item(rater_id, item, self.remaining(rater_id, item)),
            }
        for item_id in self.orders[self.book.slot_of[rater_id]]:
            left = self.remaining(rater_id, self.items[item_id])
            if left:
                return {**base, "stage": "items", "item": self.public_item(rater_id, self.items[item_id], left)}
        completion = self.study.get("completion") or {}
        code = str(completion.get("code", ""))
        redirect = completion.get("redirect")
        return {
            **base,
            "stage": "done",
            "message": texts.get("completion", ""),
            "code": code,
            "redirect": redirect.format(code=code) if redirect else None,
        }

    # -- validation ----------------------------------------------------------------------------
    def judgment(self, body: Any) -> tuple[str, dict[str, Any]]:
        """The line to store for a submitted judgment, or :class:`BadRequest` saying what is wrong."""
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object")
        rater_id = self.rater(body.get("rater_id"))
        jid = body.get("judgment_id")
        if not isinstance(jid, str) or not JUDGMENT_ID.match(jid):
            raise BadRequest("judgment_id must be 8-80 letters, digits, '-' or '_'")
        session_id = body.get("session_id") or ""
        if not isinstance(session_id, str) or not SESSION_ID.match(session_id):
            raise BadRequest("session_id must be at most 80 letters, digits, '.', '-' or '_'")
        item = self.items.get(body.get("item_id"))  # type: ignore[arg-type]
        if item is None:
            raise BadRequest(f"unknown item {body.get('item_id')!r}", 404)
        if item is not self.practice and item["item_id"] not in self.slots[self.book.slot_of[rater_id]]:
            raise BadRequest(f"item {item['item_id']!r} is not assigned to rater {rater_id!r}", 403)
        dimension = body.get("dimension")
        if dimension not in item["dimensions"]:
            raise BadRequest(f"dimension {dimension!r} is not asked on this item ({', '.join(item['dimensions'])})")
        tokens = set(item["media"].values())
        played = body.get("played")
        if not isinstance(played, dict) or not all(isinstance(v, bool) for v in played.values()):
            raise BadRequest("played must map each video token to true/false")
        foreign = [t for t in played if t not in tokens]
        if foreign:
            raise BadRequest(
                f"token(s) {foreign} are not this item's videos",
                404 if any(t not in self.files for t in foreign) else 400,
            )
        if not all(played.get(t) for t in tokens):
            raise BadRequest("every video must play to its end before an answer")
        left, right = self.sides(rater_id, item)
        for key, expected in (("left_token", left), ("right_token", right)):
            given = body.get(key)
            if given is not None and given not in self.files:
                raise BadRequest(f"{key} {given!r} is not in the study", 404)
            if given != expected:
                raise BadRequest(f"{key} {given!r} is not the video shown on that side")
        response, score = body.get("response"), body.get("score")
        if right is not None:
            options = [o["value"] for o in self.dimensions[dimension]["scale"]["options"]]
            if response not in options or score is not None:
                raise BadRequest(f"response must be one of {options} (and no score) on a side-by-side item")
        else:
            scale = self.dimensions[dimension]["scale"]
            if type(score) is not int or not scale["min"] <= score <= scale["max"] or response is not None:
                raise BadRequest(f"score must be an integer from {scale['min']} to {scale['max']} (and no response)")
        times = {k: _iso(body.get(k), k) for k in ("started_at", "answered_at")}
        rt_ms = body.get("rt_ms")
        if type(rt_ms) is not int or not 0 <= rt_ms <= 86_400_000:
            raise BadRequest("rt_ms must be an integer number of milliseconds (0 to one day)")
        record = {
            "judgment_id": jid,
            "rater_id": rater_id,
            "session_id": session_id,
            "item_id": item["item_id"],
            "dimension": dimension,
            "left_token": left,
            "right_token": right,
            "response": response,
            "score": score,
            "played": {t: True for t in tokens},
            **times,
            "rt_ms": rt_ms,
            "ui_version": str(body.get("ui_version") or self.study["ui_version"]),
            "received_at": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        }
        return rater_id, record

    def rater(self, value: Any, *, joined: bool = True) -> str:
        if not isinstance(value, str) or not RATER_ID.match(value):
            raise BadRequest("rater id must be 1-64 letters, digits, '.', '-' or '_' (from ?rater= or PROLIFIC_PID)")
        if joined and value not in self.book.slot_of:
            raise BadRequest(f"unknown rater {value!r}: open the study page and consent first", 403)
        return value


def _iso(value: Any, name: str) -> str:
    try:
        if not isinstance(value, str) or datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is None:
            raise ValueError
    except ValueError:
        raise BadRequest(f"{name} must be an ISO 8601 time with its time zone (as Date.toISOString() writes)") from None
    return value


def _error(exc: BadRequest) -> JSONResponse:
    return JSONResponse({"error": exc.reason}, status_code=exc.status, headers=NO_STORE)


def _body(request_body: bytes) -> Any:
    if len(request_body) > MAX_BODY:
        raise BadRequest(f"the body is larger than {MAX_BODY} bytes", 413)
    try:
        return json.loads(request_body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the body is not valid JSON") from None


def create_app(folder: Path) -> Starlette:
    """The app for one study folder (its ratings are read back at start)."""
    state = StudyState(folder)

    def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers=NO_STORE)

    def get_state(request: Request) -> Response:
        try:
            rater_id = state.rater(request.query_params.get("rater"), joined=False)
        except BadRequest as exc:
            return _error(exc)
        return JSONResponse(state.state(rater_id), headers=NO_STORE)

    async def join(request: Request) -> Response:
        try:
            body = _body(await request.body())
            if not isinstance(body, dict):
                raise BadRequest("the body must be a JSON object")
            rater_id = state.rater(body.get("rater_id"), joined=False)
            params = {k: str(v)[:80] for k, v in (body.get("params") or {}).items() if k in ("STUDY_ID", "SESSION_ID")}
            info = {
                "session_id": str(body.get("session_id") or "")[:80],
                "params": params,
                "joined_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            }
        except BadRequest as exc:
            return _error(exc)
        slot = await run_in_threadpool(state.book.claim, rater_id, info)
        if slot is None:
            return _error(BadRequest("this study has no free place left", 409))
        await run_in_threadpool(state.store.open, rater_id)
        return JSONResponse({"ok": True}, headers=NO_STORE)

    async def submit(request: Request) -> Response:
        try:
            rater_id, record = state.judgment(_body(await request.body()))
        except BadRequest as exc:
            return _error(exc)
        outcome = await run_in_threadpool(state.store.add, rater_id, record)
        if outcome == "conflict":
            return _error(BadRequest("this item and dimension were already answered (under another judgment id)", 409))
        return JSONResponse({"status": outcome, "progress": state.progress(rater_id)}, headers=NO_STORE)

    def media(request: Request) -> Response:
        name = request.path_params["name"]
        token = name.rsplit(".", 1)[0]
        if state.files.get(token) != name:
            return _error(BadRequest("no such media file", 404))
        return FileResponse(folder / "media" / name)

    routes = [
        Route("/", index),
        Route("/api/state", get_state),
        Route("/api/join", join, methods=["POST"]),
        Route("/api/judgment", submit, methods=["POST"]),
        Route("/media/{name}", media),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.study = state
    return app


def serve(folder: Path, port: int = 8765, *, log_level: str = "warning") -> None:
    """Serve on 127.0.0.1 only: the study's raters reach it through a tunnel or proxy the operator sets up."""
    import uvicorn

    app = create_app(folder)
    state: StudyState = app.state.study
    for problem in [*state.store.problems, *state.book.problems]:
        print(f"warning: {problem}", file=sys.stderr)
    print(f"rating page: http://127.0.0.1:{port}/?rater=YOUR_ID  (Ctrl+C stops; every answer is already on disk)")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level=log_level, access_log=False)
