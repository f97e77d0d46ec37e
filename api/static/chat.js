// citeqa's chat page: streams answers from POST /v1/query/stream and shows each cited
// quote highlighted in its document; lists, searches, adds and deletes the stored
// documents. Document text is only ever inserted as text, never as HTML.
"use strict";

const messages = document.getElementById("messages");
const form = document.getElementById("ask");
const input = document.getElementById("question");
const send = document.getElementById("send");
let history = [];
const WEAK_CONFIDENCE = 0.5; // citeqa.contract.WEAK_CONFIDENCE (tested equal)
let apiKey = sessionStorage.getItem("citeqa-api-key") || "";

// Asks for an API key: on 401 (a key is needed) or 403 (an admin key is needed).
function askForKey(status) {
  const key = window.prompt(status === 403
    ? "This needs an admin API key:"
    : "This citeqa server needs an API key:");
  if (!key || !key.trim()) return false;
  apiKey = key.trim();
  sessionStorage.setItem("citeqa-api-key", apiKey);
  return true;
}

// fetch with the API key, asking for one when the server answers 401 or 403.
async function call(url, options = {}, retried = false) {
  const headers = Object.assign({}, options.headers || {});
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;
  const response = await fetch(url, Object.assign({}, options, { headers }));
  if ((response.status === 401 || response.status === 403) && !retried && askForKey(response.status)) {
    return call(url, options, true);
  }
  return response;
}

async function errorText(response) {
  const body = await response.json().catch(() => null);
  return body && body.error ? body.error.message : `HTTP ${response.status}`;
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
  // a weak match: the answer model finds it more likely wrong than right (README)
  const weak = !answer.abstained && answer.confidence != null && answer.confidence < WEAK_CONFIDENCE;
  item.classList.toggle("weak", weak);
  if (weak) item.appendChild(el("div", "meta weak-note", `Weak match (confidence ${Math.round(answer.confidence * 100)}%): the documents may not answer this.`));
  if (answer.citations.length) {
    const list = el("ol", "sources");
    for (const c of answer.citations) {
      const where = c.page ? `, page ${c.page}` : "";
      list.appendChild(el("li", null, `${c.title}${where}: \u201c${c.quote}\u201d`));
    }
    item.appendChild(list);
  }
  if (answer.fallback) item.appendChild(el("div", "meta", "The language model was unavailable; this answer is extractive."));
  if (answer.standalone_question) {
    // a follow-up: what was searched, when it is not what was asked
    item.appendChild(el("div", "meta searched", `Searched for: \u201c${answer.standalone_question}\u201d`));
  }
}

// Shows a document in the viewer; with a citation, its quote highlighted and in view.
async function showDocument(docId, citation = null) {
  const viewer = document.getElementById("viewer");
  const text = document.getElementById("doc-text");
  const response = await call(`/v1/documents/${encodeURIComponent(docId)}`);
  const doc = await response.json();
  viewer.hidden = false;
  viewer.dataset.docId = docId;
  document.getElementById("doc-title").textContent = response.ok ? doc.title : "Document unavailable";
  const where = citation ? `characters ${citation.start}\u2013${citation.end}` : null;
  document.getElementById("doc-meta").textContent = response.ok
    ? [doc.source, doc.date, where].filter(Boolean).join(" \u00b7 ")
    : doc.error.message;
  text.textContent = "";
  if (!response.ok) return;
  if (!citation) {
    text.textContent = doc.text;
    text.scrollTop = 0;
    return;
  }
  const mark = el("mark", null, doc.text.slice(citation.start, citation.end));
  mark.id = "highlight";
  text.append(doc.text.slice(0, citation.start), mark, doc.text.slice(citation.end));
  mark.scrollIntoView({ block: "center" });
}

function showCitation(citation) {
  return showDocument(citation.doc_id, citation);
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
  suggestions.hidden = true;
  addMessage("user", question);
  const item = addMessage("assistant", "");
  item.setAttribute("aria-busy", "true");
  const box = item.querySelector(".text");
  send.disabled = true;
  try {
    const response = await call("/v1/query/stream", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ question, history }),
    });
    if (!response.ok) throw new Error(await errorText(response));
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
  loadSuggestions();
});
document.getElementById("close-viewer").addEventListener("click", () => {
  document.getElementById("viewer").hidden = true;
});
// -- example questions on an empty conversation ------------------------------------------
const suggestions = document.getElementById("suggestions");

async function loadSuggestions() {
  suggestions.textContent = "";
  suggestions.hidden = false;
  const response = await call("/v1/suggestions?n=3");
  if (!response.ok || messages.children.length) return;
  const { questions } = await response.json();
  if (!questions.length) {
    suggestions.appendChild(el("p", "meta", "No documents yet: add some on the left."));
    return;
  }
  suggestions.appendChild(el("p", "meta", "Try asking:"));
  for (const question of questions) {
    const button = el("button", "suggestion", question);
    button.type = "button";
    button.addEventListener("click", () => ask(question));
    suggestions.appendChild(button);
  }
}

// -- the stored documents: list, search, add, delete -------------------------------------
const docList = document.getElementById("doc-list");
const docSearch = document.getElementById("doc-search");
const docCount = document.getElementById("doc-count");
const uploadStatus = document.getElementById("upload-status");
const progress = document.getElementById("upload-progress");
const uploadResults = document.getElementById("upload-results");
let documents = [];

function size(chars) {
  if (chars === null || chars === undefined) return "";
  return chars < 1000 ? `${chars} characters` : `${(chars / 1000).toFixed(chars < 10000 ? 1 : 0)}k characters`;
}

async function loadDocuments() {
  const found = [];
  for (let offset = 0; offset < 10000; offset += 1000) {
    const response = await call(`/v1/documents?limit=1000&offset=${offset}`);
    if (!response.ok) {
      docCount.textContent = "";
      docList.textContent = "";
      docList.appendChild(el("li", "meta", await errorText(response)));
      return;
    }
    const page = await response.json();
    found.push(...page.documents);
    if (found.length >= page.total || !page.documents.length) break;
  }
  documents = found;
  renderDocuments();
}

function renderDocuments() {
  const query = docSearch.value.trim().toLowerCase();
  const shown = documents.filter((d) =>
    !query || d.title.toLowerCase().includes(query) || d.doc_id.toLowerCase().includes(query));
  docCount.textContent = query ? `${shown.length} of ${documents.length}` : `${documents.length}`;
  docList.textContent = "";
  for (const doc of shown) {
    const item = el("li", "doc");
    item.dataset.docId = doc.doc_id;
    const open = el("button", "doc-open", doc.title);
    open.type = "button";
    open.title = doc.doc_id;
    open.addEventListener("click", () => showDocument(doc.doc_id));
    const facts = [doc.date, size(doc.chars), `${doc.n_chunks} chunk${doc.n_chunks === 1 ? "" : "s"}`];
    const remove = el("button", "doc-delete", "\u00d7");
    remove.type = "button";
    remove.title = `Delete ${doc.doc_id}`;
    remove.setAttribute("aria-label", `Delete ${doc.doc_id}`);
    remove.addEventListener("click", () => deleteDocument(doc));
    item.append(open, remove, el("div", "meta", facts.filter(Boolean).join(" \u00b7 ")));
    docList.appendChild(item);
  }
}

async function deleteDocument(doc) {
  if (!window.confirm(`Delete \u201c${doc.title}\u201d (${doc.doc_id}) and everything indexed from it?`)) return;
  const response = await call(`/v1/documents/${encodeURIComponent(doc.doc_id)}`, { method: "DELETE" });
  uploadStatus.textContent = response.ok ? `Deleted ${doc.doc_id}.` : await errorText(response);
  uploadStatus.classList.toggle("error", !response.ok);
  const viewer = document.getElementById("viewer");
  if (response.ok && viewer.dataset.docId === doc.doc_id) viewer.hidden = true;
  await loadDocuments();
}

// One multipart upload through XMLHttpRequest, for its progress events.
function sendFiles(files) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const file of files) form.append("files", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/v1/documents");
    if (apiKey) xhr.setRequestHeader("authorization", `Bearer ${apiKey}`);
    xhr.upload.addEventListener("progress", (event) => {
      if (!event.lengthComputable) return;
      progress.value = event.loaded / event.total;
      uploadStatus.textContent = event.loaded < event.total
        ? `Uploading\u2026 ${Math.round(100 * event.loaded / event.total)}%`
        : "Reading and indexing\u2026";
    });
    xhr.addEventListener("load", () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch (_) { body = null; }
      resolve({ status: xhr.status, body });
    });
    xhr.addEventListener("error", () => reject(new Error("the upload failed (network)")));
    xhr.send(form);
  });
}

const OUTCOME_WORDS = {
  added: "added", updated: "updated", skipped: "unchanged", failed: "failed", unsupported: "not supported",
};

// One line per document of the upload (each member of an archive too); those that were
// not stored styled as errors, with the reason.
function showOutcomes(outcomes) {
  uploadResults.textContent = "";
  for (const outcome of outcomes || []) {
    const bad = outcome.status === "failed" || outcome.status === "unsupported";
    const item = el("li", bad ? "error" : outcome.status === "skipped" ? "skipped" : "stored");
    item.dataset.docId = outcome.doc_id;
    item.dataset.status = outcome.status;
    item.append(el("span", "outcome-name", outcome.doc_id),
      el("span", "outcome-status", OUTCOME_WORDS[outcome.status] || outcome.status));
    if (outcome.message && outcome.status !== "skipped") {
      item.appendChild(el("span", "outcome-reason", outcome.message));
    }
    uploadResults.appendChild(item);
  }
  uploadResults.hidden = !uploadResults.children.length;
}

async function addFiles(files, retried = false) {
  if (!files.length) return;
  progress.hidden = false;
  progress.value = 0;
  uploadStatus.classList.remove("error");
  showOutcomes([]);
  uploadStatus.textContent = `Uploading ${files.length} file${files.length === 1 ? "" : "s"}\u2026`;
  try {
    const { status, body } = await sendFiles(files);
    if ((status === 401 || status === 403) && !retried && askForKey(status)) {
      return addFiles(files, true);
    }
    if (status !== 200 && status !== 207) {  // nothing stored: the error, and each file's
      uploadStatus.classList.add("error");
      uploadStatus.textContent = body && body.error ? body.error.message : `HTTP ${status}`;
      if (body && body.documents && body.documents.length > 1) {
        uploadStatus.textContent = `No file was added (${body.error.code}).`;
      }
      showOutcomes(body && body.documents);
      return;
    }
    const done = [`${body.added} added`, `${body.updated} updated`, `${body.skipped} unchanged`];
    if (body.failed || body.unsupported) done.push(`${body.failed + body.unsupported} not added`);
    uploadStatus.textContent = done.join(", ") + ".";
    showOutcomes(body.documents);
    await loadDocuments();
    if (!messages.children.length) loadSuggestions();
  } catch (error) {
    uploadStatus.classList.add("error");
    uploadStatus.textContent = error.message;
  } finally {
    progress.hidden = true;
  }
}

const dropzone = document.getElementById("dropzone");
const fileInput = document.getElementById("file-input");
fileInput.addEventListener("change", () => {
  addFiles([...fileInput.files]);
  fileInput.value = "";
});
for (const type of ["dragenter", "dragover"]) {
  dropzone.addEventListener(type, (event) => {
    event.preventDefault();
    dropzone.classList.add("over");
  });
}
dropzone.addEventListener("dragleave", () => dropzone.classList.remove("over"));
dropzone.addEventListener("drop", (event) => {
  event.preventDefault();
  dropzone.classList.remove("over");
  addFiles([...event.dataTransfer.files]);
});
docSearch.addEventListener("input", renderDocuments);

// One request at a time at start, so that a server that needs a key asks for it once.
async function start() {
  const ready = await call("/readyz");
  const body = await ready.json().catch(() => ({}));
  if (body.backend) document.getElementById("backend").textContent = `answers: ${body.backend}`;
  await loadDocuments();
  await loadSuggestions();
}
start();
