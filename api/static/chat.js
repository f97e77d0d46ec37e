// citeqa's chat page: streams answers from POST /v1/query and shows each cited quote
// highlighted in its document. Document text is only ever inserted as text, never as HTML.
"use strict";

const messages = document.getElementById("messages");
const form = document.getElementById("ask");
const input = document.getElementById("question");
const send = document.getElementById("send");
let history = [];
let apiKey = sessionStorage.getItem("citeqa-api-key") || "";

// fetch with the API key, asking for one when the server answers 401.
async function call(url, options = {}, retried = false) {
  const headers = Object.assign({}, options.headers || {});
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;
  const response = await fetch(url, Object.assign({}, options, { headers }));
  if (response.status === 401 && !retried) {
    const key = window.prompt("This citeqa server needs an API key:");
    if (key && key.trim()) {
      apiKey = key.trim();
      sessionStorage.setItem("citeqa-api-key", apiKey);
      return call(url, options, true);
    }
  }
  return response;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function addMessage(role, text) {
  const item = el("li", role);
  item.appendChild(el("div", "text", text));
  messages.appendChild(item);
  item.scrollIntoView({ block: "end" });
  return item;
}

// Answer text with each [n] marker turned into a button that opens citation n.
function renderAnswer(item, answer) {
  const box = item.querySelector(".text");
  box.textContent = "";
  const byNumber = new Map(answer.citations.map((c) => [c.n, c]));
  const parts = answer.answer.split(/(\[\d+\])/);
  for (const part of parts) {
    const marker = part.match(/^\[(\d+)\]$/);
    const citation = marker && byNumber.get(Number(marker[1]));
    if (citation) {
      const button = el("button", "cite", part);
      button.type = "button";
      button.dataset.n = String(citation.n);
      button.title = citation.title;
      button.addEventListener("click", () => showCitation(citation));
      box.appendChild(button);
    } else {
      box.appendChild(document.createTextNode(part));
    }
  }
  item.classList.toggle("abstained", answer.abstained);
  if (answer.citations.length) {
    const list = el("ol", "sources");
    for (const c of answer.citations) {
      const where = c.page ? `, page ${c.page}` : "";
      list.appendChild(el("li", null, `${c.title}${where}: \u201c${c.quote}\u201d`));
    }
    item.appendChild(list);
  }
  if (answer.fallback) item.appendChild(el("div", "meta", "The language model was unavailable; this answer is extractive."));
}

async function showCitation(citation) {
  const viewer = document.getElementById("viewer");
  const text = document.getElementById("doc-text");
  const response = await call(`/v1/documents/${encodeURIComponent(citation.doc_id)}`);
  const doc = await response.json();
  viewer.hidden = false;
  document.getElementById("doc-title").textContent = response.ok ? doc.title : "Document unavailable";
  document.getElementById("doc-meta").textContent = response.ok
    ? [doc.source, doc.date, `characters ${citation.start}\u2013${citation.end}`].filter(Boolean).join(" \u00b7 ")
    : doc.error.message;
  text.textContent = "";
  if (!response.ok) return;
  const mark = el("mark", null, doc.text.slice(citation.start, citation.end));
  mark.id = "highlight";
  text.append(doc.text.slice(0, citation.start), mark, doc.text.slice(citation.end));
  mark.scrollIntoView({ block: "center" });
}

// Server-Sent Events from a fetch body: yields {event, data} objects.
async function* readEvents(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let event = "message";
      const data = [];
      for (const line of frame.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      }
      if (data.length) yield { event, data: JSON.parse(data.join("\n")) };
    }
  }
}

async function ask(question) {
  addMessage("user", question);
  const item = addMessage("assistant", "");
  item.setAttribute("aria-busy", "true");
  const box = item.querySelector(".text");
  send.disabled = true;
  try {
    const response = await call("/v1/query", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ question, stream: true, history }),
    });
    if (!response.ok) {
      const body = await response.json().catch(() => null);
      throw new Error(body && body.error ? body.error.message : `HTTP ${response.status}`);
    }
    for await (const { event, data } of readEvents(response)) {
      if (event === "delta") {
        box.textContent += (box.textContent ? " " : "") + data.text;
      } else if (event === "done") {
        renderAnswer(item, data);
        item.dataset.done = "true";
        history = history.concat(
          { role: "user", content: question },
          { role: "assistant", content: data.answer },
        ).slice(-20);
      } else if (event === "error") {
        throw new Error(data.error.message);
      }
    }
  } catch (error) {
    item.classList.add("error");
    box.textContent = `Error: ${error.message}`;
    item.dataset.done = "error";
  } finally {
    item.removeAttribute("aria-busy");
    send.disabled = false;
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const question = input.value.trim();
  if (!question || send.disabled) return;
  input.value = "";
  ask(question);
});
input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    form.requestSubmit();
  }
});
document.getElementById("new").addEventListener("click", () => {
  history = [];
  messages.textContent = "";
  document.getElementById("viewer").hidden = true;
});
document.getElementById("close-viewer").addEventListener("click", () => {
  document.getElementById("viewer").hidden = true;
});
call("/readyz").then((r) => r.json()).then((body) => {
  if (body.backend) document.getElementById("backend").textContent = `answers: ${body.backend}`;
}).catch(() => {});
