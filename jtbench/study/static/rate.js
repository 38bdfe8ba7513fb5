// The rating page: consent -> practice -> items -> completion. Plain JS, no build step.
// The server decides what comes next (GET /api/state), so a reload resumes where the rater was.
// Answers unlock only after every candidate video has played to its end; each answer is sent with an
// id made here once, so a resubmission (a lost reply, a retry) is recorded once.
"use strict";

const params = new URLSearchParams(window.location.search);
const rater = params.get("rater") || params.get("PROLIFIC_PID");
const session = params.get("SESSION_ID") || sessionId();
const main = document.getElementById("main");
const statusLine = document.getElementById("status");

function sessionId() {
  let id = window.sessionStorage.getItem("jtbench-session");
  if (!id) {
    id = newId();
    window.sessionStorage.setItem("jtbench-session", id);
  }
  return id;
}

function newId() {
  if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
  const bytes = new Uint8Array(16);
  window.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else if (value === true) node.setAttribute(key, "");
    else if (value !== false && value !== null && value !== undefined) node.setAttribute(key, value);
  }
  for (const child of children) node.appendChild(child);
  return node;
}

function say(text, kind = "") {
  statusLine.textContent = text;
  statusLine.className = kind;
}

async function call(method, url, body) {
  const options = { method, headers: { "Content-Type": "application/json" } };
  if (body !== undefined) options.body = JSON.stringify(body);
  const response = await fetch(url, options);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(data.error || `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

// A judgment is retried with the same id until the server answers (a lost reply is not a lost answer).
async function send(body) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call("POST", "/api/judgment", body);
    } catch (error) {
      if (error.status && error.status < 500) throw error;
      say("Saving… (retrying)", "notice");
      const wait = Math.min(4000, 250 * 2 ** attempt) * (0.5 + Math.random());  // jitter: raters do not return at once
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

function setProgress(progress) {
  if (!progress) return;
  const bar = document.getElementById("progress");
  bar.max = Math.max(1, progress.total);
  bar.value = progress.done;
  document.getElementById("progress-text").textContent = `${progress.done} / ${progress.total}`;
}

async function load() {
  if (!rater) {
    main.dataset.stage = "error";
    main.replaceChildren(el("p", { class: "error", text: "This link lacks a rater id (?rater=… or PROLIFIC_PID)." }));
    return;
  }
  let state;
  try {
    state = await call("GET", `/api/state?rater=${encodeURIComponent(rater)}`);
  } catch (error) {
    say(error.message, "error");
    return;
  }
  document.getElementById("title").textContent = state.title || "Video rating";
  setProgress(state.progress);
  main.dataset.stage = state.stage;
  if (state.stage === "consent") showConsent(state);
  else if (state.stage === "done") showDone(state);
  else showItem(state);
}

function showConsent(state) {
  const agree = el("button", { type: "button", "data-testid": "consent-agree", text: "I agree" });
  agree.addEventListener("click", async () => {
    agree.disabled = true;
    try {
      await call("POST", "/api/join", {
        rater_id: rater,
        session_id: session,
        params: { STUDY_ID: params.get("STUDY_ID") || "", SESSION_ID: params.get("SESSION_ID") || "" },
      });
      say("");
      await load();
    } catch (error) {
      say(error.message, "error");
      agree.disabled = false;
    }
  });
  main.replaceChildren(el("p", { "data-testid": "consent-text", text: state.consent }), agree);
}

function showDone(state) {
  main.replaceChildren(
    el("p", { "data-testid": "done-message", text: state.message }),
    el("p", { text: "Completion code: " }, [el("span", { class: "code", "data-testid": "done-code", text: state.code })]),
  );
  if (state.redirect) {
    say("Taking you back…");
    setTimeout(() => window.location.assign(state.redirect), 1500);
  }
}

function candidate(url, side, label, played, onEnded) {
  const video = el("video", { src: url, muted: true, autoplay: true, playsinline: true, preload: "auto",
                              "data-testid": `video-${side}` });
  video.muted = true;
  video.addEventListener("ended", () => {
    played[side] = true;
    onEnded();
  });
  const replay = el("button", { type: "button", text: "Replay" });
  replay.addEventListener("click", () => {
    video.currentTime = 0;
    video.play();
  });
  return el("figure", { class: "candidate" }, [video, el("figcaption", { text: label }), replay]);
}

function question(dimension, index) {
  const scale = dimension.scale;
  const choices = scale.type === "pairwise"
    ? scale.options.map((o) => [o.value, o.label])
    : Array.from({ length: scale.max - scale.min + 1 }, (_, i) => {
        const value = String(scale.min + i);
        return [value, scale.anchors && scale.anchors[value] ? `${value} – ${scale.anchors[value]}` : value];
      });
  const fieldset = el("fieldset", { disabled: true, "data-testid": `answers-${dimension.id}` });
  for (const [value, label] of choices) {
    const input = el("input", { type: "radio", name: `q${index}`, value,
                                "data-testid": `answer-${dimension.id}-${value}` });
    fieldset.appendChild(el("label", {}, [input, document.createTextNode(" " + label)]));
  }
  return el("div", { class: "question" }, [el("p", { text: dimension.question }), fieldset]);
}

function showItem(state) {
  const item = state.item;
  const shownAt = new Date();
  const dims = state.dimensions.filter((d) => item.dimensions.includes(d.id));
  const played = {};
  const pair = Boolean(item.right);
  const sides = pair ? ["left", "right"] : ["single"];
  const tokens = { left: item.left_token, right: item.right_token, single: item.left_token };
  for (const side of sides) played[side] = false;
  const questions = dims.map((d, i) => question(d, i));
  const submit = el("button", { type: "button", disabled: true, "data-testid": "submit", text: "Next" });
  const ready = () => sides.every((side) => played[side]);
  const answered = () => questions.every((q) => q.querySelector("input:checked"));
  const refresh = () => {
    for (const q of questions) q.querySelector("fieldset").disabled = !ready();
    submit.disabled = !(ready() && answered());
    say(ready() ? "" : "Watch the video(s) to the end to unlock the answers.", "notice");
  };
  for (const q of questions) q.addEventListener("change", refresh);

  const refs = el("div", { class: "refs" });
  for (const url of item.references.images) {
    refs.appendChild(el("figure", {}, [el("img", { src: url, alt: "reference photo", "data-testid": "ref-image" }),
                                       el("figcaption", { text: "Subject" })]));
  }
  if (item.references.motion) {
    refs.appendChild(el("figure", {}, [
      el("video", { src: item.references.motion, muted: true, autoplay: true, loop: true, playsinline: true,
                    "data-testid": "ref-motion" }),
      el("figcaption", { text: "Reference motion" })]));
  }
  const candidates = el("div", { class: "candidates" }, pair
    ? [candidate(item.left, "left", "Left", played, refresh), candidate(item.right, "right", "Right", played, refresh)]
    : [candidate(item.video, "single", "Video", played, refresh)]);
  const header = state.stage === "practice"
    ? [el("p", { class: "notice", "data-testid": "practice", text: state.instructions })] : [];
  main.replaceChildren(...header, el("p", { class: "prompt", "data-testid": "prompt", text: item.prompt }), refs,
                       candidates, ...questions, submit);
  if (!document.createElement("video").canPlayType('video/mp4; codecs="avc1.42E01E"')) {
    say("This browser cannot play H.264 video; please use another browser.", "error");
  } else {
    refresh();
  }

  const ids = Object.fromEntries(dims.map((d) => [d.id, newId()]));  // made once: a retry reuses them
  submit.addEventListener("click", async () => {
    submit.disabled = true;
    const answeredAt = new Date();
    try {
      for (const [i, d] of dims.entries()) {
        const value = questions[i].querySelector("input:checked").value;
        const body = {
          judgment_id: ids[d.id], rater_id: rater, session_id: session, item_id: item.item_id, dimension: d.id,
          left_token: item.left_token, right_token: item.right_token,
          response: pair ? value : null, score: pair ? null : Number(value),
          played: Object.fromEntries(sides.map((side) => [tokens[side], played[side]])),
          started_at: shownAt.toISOString(), answered_at: answeredAt.toISOString(),
          rt_ms: Math.max(0, answeredAt - shownAt), ui_version: state.ui_version,
        };
        const reply = await send(body);
        setProgress(reply.progress);
      }
      say("Saved.");
      await load();
    } catch (error) {
      say(error.message, "error");
      submit.disabled = false;
    }
  });
}

load();
