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

// The conversation's scroller: the message list, or the page when the list is not
// height-bound (the narrow, one-column layout).
function scroller() {
  return messages.scrollHeight > messages.clientHeight + 1 ? messages : document.scrollingElement;
}

function atBottom() {
  const box = scroller();
  return box.scrollHeight - box.scrollTop - box.clientHeight < 48;
}

// Whether the newest message is followed as it grows: until the reader scrolls up, and
// again from when they scroll back down or ask a new question.
let following = true;
let scrolling = false; // a scroll of our own is not the reader's
for (const target of [messages, window]) {
  target.addEventListener("scroll", () => {
    if (!scrolling) following = atBottom();
  }, { passive: true });
}

function followConversation() {
  if (!following) return;
  const box = scroller();
  scrolling = true;
  box.scrollTop = box.scrollHeight;
  requestAnimationFrame(() => { scrolling = false; });
}

function addMessage(role, text) {
  const item = el("li", role);
  item.appendChild(el("div", "text", text));
  messages.appendChild(item);
  followConversation();
  return item;
}

// A quote as a reader sees it: the document's line breaks and runs of spaces as one space.
function asRead(quote) {
  return quote.replace(/\s+/g, " ").trim();
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
      list.appendChild(el("li", null, `${c.title}${where}: \u201c${asRead(c.quote)}\u201d`));
    }
    item.appendChild(list);
  }
  if (answer.fallback) item.appendChild(el("div", "meta", "The language model was unavailable; this answer is extractive."));
  const same = (a, b) => a.replace(/\s+/g, " ").trim().toLowerCase() === b.replace(/\s+/g, " ").trim().toLowerCase();
  if (answer.standalone_question && !same(answer.standalone_question, answer.question)) {
    // a follow-up: what was searched, when it is not what was asked
    item.appendChild(el("div", "meta searched", `Searched for: \u201c${answer.standalone_question}\u201d`));
  }
  if (answer.searched_documents && answer.searched_documents.length) {
    // the question named these documents by version: nothing else was searched
    item.appendChild(el("div", "meta scoped", `Searched only: ${answer.searched_documents.join(", ")}`));
  }
  followConversation();
}

// -- a document as a reader sees it -------------------------------------------------------
// The stored text is shown whole and verbatim (the viewer's textContent is the stored
// text, so citation offsets index it), cut into blocks at blank lines: a paragraph is
// reflowed (its single line breaks show as spaces, by CSS), a list keeps one line per
// item, and code, tables, columns and short-lined blocks (verse, addresses) keep their lines.
const LIST_ITEM = /^\s*(?:[-*+\u2022]|\d{1,3}[.)]|[a-z][.)])\s+\S/;
const PRE_LINE = /^(?: {4}|\t)|^\s*\||\S {3,}\S|^\s*[-=_*+]{3,}\s*$/;

function blockKind(block) {
  const lines = block.split("\n").filter((line) => line.trim());
  if (block.trimStart().startsWith("```")) return "pre";
  if (lines.length > 1 && lines.filter((line) => PRE_LINE.test(line)).length * 2 >= lines.length) return "pre";
  if (LIST_ITEM.test(lines[0] || "")) return "list";
  // a line alone: a Markdown heading, or a short line that ends no sentence (a title)
  if (lines.length === 1 && (/^#{1,6}\s/.test(lines[0]) || (lines[0].trim().length < 60 && !/[.!?,;:]$/.test(lines[0].trim())))) return "heading";
  if (lines.length > 1 && lines.every((line) => line.trim().length < 40)) return "lines";
  return "para";
}

// [start, end) of each block; what lies between blocks (blank lines) belongs to none.
// A fenced code block is one block, blank lines and all.
function blocksOf(text) {
  const blocks = [];
  const gap = /\n(?:[ \t]*\n)+/g; // the next block keeps its first line's indent
  let at = text.match(/^(?:[ \t]*\n)*/)[0].length;
  let fenced = false;
  let open = at;
  for (;;) {
    const found = gap.exec(text);
    const stop = found ? found.index : text.length;
    const piece = text.slice(at, stop);
    const fences = (piece.match(/^\s*```/gm) || []).length;
    if (fences % 2) fenced = !fenced;
    if (!fenced && stop > open) {
      blocks.push({ start: open, end: stop });
    }
    if (!found) break;
    at = gap.lastIndex;
    if (!fenced) open = at;
  }
  if (fenced && open < text.length) blocks.push({ start: open, end: text.length });
  return blocks;
}

// Appends text[from, to) to node, its part inside [hlStart, hlEnd) in a <mark>.
function appendMarked(node, text, from, to, hlStart, hlEnd, marks) {
  const a = Math.max(from, Math.min(hlStart, to));
  const b = Math.max(a, Math.min(hlEnd, to));
  if (a > from) node.appendChild(document.createTextNode(text.slice(from, a)));
  if (b > a) {
    const mark = el("mark", "hl", text.slice(a, b));
    node.appendChild(mark);
    marks.push(mark);
  }
  if (to > b) node.appendChild(document.createTextNode(text.slice(b, to)));
}

// A hard-wrapped block's lines run to about one width (60-80 characters): a line break
// after a line that reaches most of it is a wrap, shown as a space; one after a short
// line, or in text whose lines are longer than anyone wraps at, is the author's, kept.
const WRAP_WIDTH_MAX = 100;

function appendFlowing(node, text, from, to, width, hl, marks) {
  let at = from;
  for (;;) {
    const cut = text.indexOf("\n", at);
    if (cut < 0 || cut >= to) break;
    const line = text.slice(at, cut).trimEnd().length;
    appendMarked(node, text, at, cut + 1, hl[0], hl[1], marks);
    const wrapped = width <= WRAP_WIDTH_MAX && line >= 0.6 * width;
    if (!wrapped) node.appendChild(document.createElement("br"));
    at = cut + 1;
  }
  appendMarked(node, text, at, to, hl[0], hl[1], marks);
}

// Fills container with text as blocks; returns the <mark>s of [hlStart, hlEnd).
function renderDocumentText(container, text, hlStart = -1, hlEnd = -1) {
  container.textContent = "";
  const marks = [];
  let at = 0;
  for (const block of blocksOf(text)) {
    if (block.start > at) appendMarked(container, text, at, block.start, hlStart, hlEnd, marks);
    const body = text.slice(block.start, block.end);
    const kind = blockKind(body);
    const node = el(kind === "pre" ? "pre" : kind === "heading" ? "h3" : "div", `block ${kind}`);
    const width = Math.max(...body.split("\n").map((line) => line.trimEnd().length));
    if (kind === "list") {
      // one line per item; an item's wrapped lines reflow with it
      let itemStart = block.start;
      const lineStarts = [];
      for (let i = block.start; i < block.end; i = text.indexOf("\n", i) + 1 || block.end) lineStarts.push(i);
      for (let k = 1; k <= lineStarts.length; k += 1) {
        const next = lineStarts[k];
        if (next !== undefined && !LIST_ITEM.test(text.slice(next, text.indexOf("\n", next) + 1 || block.end))) continue;
        const itemEnd = next === undefined ? block.end : next;
        const item = el("div", "item");
        appendFlowing(item, text, itemStart, itemEnd, width, [hlStart, hlEnd], marks);
        node.appendChild(item);
        itemStart = itemEnd;
      }
    } else if (kind === "para") {
      appendFlowing(node, text, block.start, block.end, width, [hlStart, hlEnd], marks);
    } else {
      appendMarked(node, text, block.start, block.end, hlStart, hlEnd, marks);
    }
    container.appendChild(node);
    at = block.end;
  }
  if (text.length > at) appendMarked(container, text, at, text.length, hlStart, hlEnd, marks);
  return marks;
}

// Shows a document in the viewer: from the list at its top; from a citation with its
// quote highlighted and in view.
async function showDocument(docId, citation = null) {
  const viewer = document.getElementById("viewer");
  const text = document.getElementById("doc-text");
  const meta = document.getElementById("doc-meta");
  const response = await call(`/v1/documents/${encodeURIComponent(docId)}`);
  const doc = await response.json().catch(() => null);
  viewer.hidden = false;
  viewer.dataset.docId = docId;
  document.getElementById("doc-title").textContent = response.ok ? doc.title : "Document unavailable";
  const where = citation ? `characters ${citation.start}\u2013${citation.end}` : null;
  meta.textContent = response.ok
    ? [doc.source, doc.date, where].filter(Boolean).join(" \u00b7 ")
    : (doc && doc.error ? doc.error.message : `HTTP ${response.status}`);
  meta.classList.toggle("error", !response.ok);
  meta.setAttribute("role", response.ok ? "status" : "alert");
  text.textContent = "";
  viewer.scrollTop = 0;
  if (!response.ok) return;
  if (!citation) {
    renderDocumentText(text, doc.text);
    viewer.scrollTop = 0;
    return;
  }
  const marks = renderDocumentText(text, doc.text, citation.start, citation.end);
  if (!marks.length) return;
  marks[0].id = "highlight";
  marks[0].scrollIntoView({ block: "center" });
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
  following = true; // a new question brings the conversation to its end
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
        followConversation();
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
    item.setAttribute("role", "alert");
    box.textContent = `Error: ${error.message}`;
    item.dataset.done = "error";
    followConversation();
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
// the status line is announced as an alert while it shows an error
uploadStatus.setAttribute("role", "status");
new MutationObserver(() => {
  uploadStatus.setAttribute("role", uploadStatus.classList.contains("error") ? "alert" : "status");
}).observe(uploadStatus, { attributes: true, attributeFilter: ["class"] });
const docSort = document.getElementById("doc-sort");
docSort.value = localStorage.getItem("citeqa-doc-sort") === "title" ? "title" : "newest";

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
      const problem = el("li", "meta error", await errorText(response));
      problem.setAttribute("role", "alert");
      docList.appendChild(problem);
      return;
    }
    const page = await response.json();
    found.push(...page.documents);
    if (found.length >= page.total || !page.documents.length) break;
  }
  documents = found;
  renderDocuments();
}

const byTitle = (a, b) => a.title.localeCompare(b.title, undefined, { sensitivity: "base", numeric: true })
  || a.doc_id.localeCompare(b.doc_id);
// newest first: by the time each was stored (a document stored before that was kept, last)
const byNewest = (a, b) => (b.ingested_at || "").localeCompare(a.ingested_at || "") || byTitle(a, b);

function renderDocuments() {
  const query = docSearch.value.trim().toLowerCase();
  const shown = documents.filter((d) =>
    !query || d.title.toLowerCase().includes(query) || d.doc_id.toLowerCase().includes(query))
    .sort(docSort.value === "title" ? byTitle : byNewest);
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

function megabytes(bytes) {
  return bytes < 100000 ? `${Math.max(1, Math.round(bytes / 1000))} kB` : `${(bytes / 1e6).toFixed(1)} MB`;
}

// Follows an ingest job until it ends, the bar and the status showing the files done;
// resolves as the upload would have answered without one: the report, or an error when
// no file could be stored.
async function followJob(job) {
  progress.value = 0;
  for (;;) {
    const files = `${job.processed} of ${job.documents} file${job.documents === 1 ? "" : "s"}`;
    const counts = ["added", "updated", "skipped", "failed", "unsupported"]
      .filter((name) => job[name]).map((name) => `${job[name]} ${OUTCOME_WORDS[name]}`);
    // files are read one at a time and stored a group at a time: the bar moves half a
    // step as each file is read and the other half as it is stored
    const read = job.read || 0;
    if (read || job.processed) progress.value = (read + job.processed) / (2 * job.documents);
    else progress.removeAttribute("value");
    const reading = job.current && job.status === "running" ? `reading ${job.current} (${read} of ${job.documents}); ` : "";
    const embedded = job.chunks_embedded ? `, ${job.chunks_embedded} chunks embedded` : "";
    uploadStatus.textContent = `Indexing: ${reading}${files} done${counts.length ? ` (${counts.join(", ")})` : ""}${embedded}\u2026`;
    if (job.status === "done" || job.status === "failed") break;
    await new Promise((wake) => setTimeout(wake, 250));
    const response = await call(`/v1/ingest-jobs/${encodeURIComponent(job.job_id)}`);
    if (!response.ok) return { status: response.status, body: await response.json().catch(() => null) };
    job = await response.json();
  }
  const report = job.report;
  if (job.status === "failed" || !report) {
    return { status: 500, body: { error: { code: "ingest_failed", message: `Indexing stopped: ${job.message}` } } };
  }
  if (report.documents.length && report.documents.every((d) => d.status === "failed")) {
    const message = report.documents.map((d) => `${d.doc_id}: ${d.message || "unreadable"}`).join("; ");
    return { status: 422, body: { error: { code: "document_unreadable", message }, documents: report.documents } };
  }
  return { status: 200, body: report };
}


// One multipart upload through XMLHttpRequest, for its progress events.
function sendFiles(files) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const file of files) form.append("files", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/v1/documents?wait=false"); // an ingest job, followed file by file
    if (apiKey) xhr.setRequestHeader("authorization", `Bearer ${apiKey}`);
    xhr.upload.addEventListener("progress", (event) => {
      if (!event.lengthComputable) return;
      progress.value = event.loaded / event.total;
      uploadStatus.textContent = `Uploading\u2026 ${Math.round(100 * event.loaded / event.total)}% `
        + `of ${megabytes(event.total)} sent`;
    });
    xhr.addEventListener("load", () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch (_) { body = null; }
      if (xhr.status === 202 && body && body.job_id) followJob(body).then(resolve, reject);
      else resolve({ status: xhr.status, body });
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
docSort.addEventListener("change", () => {
  localStorage.setItem("citeqa-doc-sort", docSort.value);
  renderDocuments();
});

// One request at a time at start, so that a server that needs a key asks for it once.
async function start() {
  const ready = await call("/readyz");
  const body = await ready.json().catch(() => ({}));
  if (body.backend) document.getElementById("backend").textContent = `answers: ${body.backend}`;
  await loadDocuments();
  await loadSuggestions();
}
start();
