// Chat: POST the question, read the server-sent events as they stream in, render the answer.
"use strict";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c);
  return node;
}

function fileUrl(path) { return "/ui/file?path=" + encodeURIComponent(path); }

function clock(ns) { return new Date(ns / 1e6).toISOString().slice(11, 19); }

function renderTriage(turn, t) {
  const d = t.diagnosis, inc = t.incident;
  const link = el("a", { href: "/ui/incidents/" + encodeURIComponent(inc.incident_id), "data-testid": "incident-link" },
    "incident page: #" + inc.robot_id + " " + inc.kind + " " + inc.incident_id);
  turn.append(el("p", {}, link));
  const list = el("ul", { class: "citations" });
  const seenFrames = new Set();
  for (const c of d.citations) {
    const item = el("li", {}, el("code", {}, c.topic), " " + clock(c.start_ns) + "–" + clock(c.end_ns) + " UTC in ",
      el("span", { title: c.log, class: "muted" }, c.log.split("/").pop()));
    if (c.frame_path && !seenFrames.has(c.frame_path)) {
      seenFrames.add(c.frame_path);
      item.append(el("br"), el("img", { src: fileUrl(c.frame_path), alt: "cited frame", "data-testid": "cited-frame", class: "frame" }));
    }
    list.append(item);
  }
  turn.append(el("h2", {}, "Citations"), list);
  turn.append(el("h2", {}, "Around the incident"),
    el("img", { class: "plot", src: "/ui/incidents/" + encodeURIComponent(inc.incident_id) + "/timeline.png",
                alt: "timeline", "data-testid": "chat-timeline" }));
}

function handle(turn, kind, data) {
  const steps = turn.querySelector(".steps"), answer = turn.querySelector(".answer");
  if (kind === "step") {
    steps.textContent += (steps.textContent ? " → " : "") + data.node;
  } else if (kind === "answer") {
    answer.textContent = data.answer || "";
    turn.dataset.state = "answered";
    if (data.triage) renderTriage(turn, data.triage);
  } else if (kind === "waiting") {
    answer.textContent = data.answer || "waiting for a decision";
    turn.dataset.state = "waiting";
    turn.append(el("p", {}, el("a", { href: "/ui/inbox/" + encodeURIComponent(data.approval_id), "data-testid": "approval-link" },
      "open request " + data.approval_id + " in the inbox")));
  } else if (kind === "error") {
    answer.textContent = "Error: " + data.detail;
    answer.classList.add("error");
    turn.dataset.state = "error";
  }
}

async function ask(question) {
  const turn = el("section", { class: "card turn", "data-testid": "turn", "data-state": "asking" },
    el("div", { class: "q" }, question), el("div", { class: "steps" }), el("div", { class: "answer", "data-testid": "answer" }));
  document.getElementById("conversation").prepend(turn);
  try {
    await stream(turn, question);
  } catch (err) {
    handle(turn, "error", { detail: "the answer stream broke off: " + err });
  }
  if (turn.dataset.state === "asking") handle(turn, "error", { detail: "the answer stream ended without an answer" });
}

async function stream(turn, question) {
  const res = await fetch("/ui/chat/stream", {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ question }),
  });
  if (!res.ok) { handle(turn, "error", { detail: res.status + " " + (await res.text()) }); return; }
  const reader = res.body.getReader(), decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
      let kind = "message", data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) kind = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      handle(turn, kind, data ? JSON.parse(data) : {});
    }
  }
}

document.getElementById("ask").addEventListener("submit", (e) => {
  e.preventDefault();
  const q = document.getElementById("question");
  if (q.value.trim()) ask(q.value.trim());
});
