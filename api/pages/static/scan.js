// Scan station: sign in with a staff key, pick a shipment, scan, pack. Vanilla JS, no build.
"use strict";

const API = "/api/v1/shipments";
const KEY = "oms-staff-key";
const STATION = "oms-station";
const RETRIES = 5; // attempts per request on a network error or 5xx
const $ = (id) => document.getElementById(id);

let current = null; // the work-list item being scanned: {shipment_id, order_id, lines: [...]}
let queue = Promise.resolve(); // scans go one at a time, in the order they were scanned

class Refused extends Error {
  constructor(status, body) {
    super((body && body.detail) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

// A scan_id that stays the same across retries. randomUUID needs a secure context
// (https or localhost); plain-http handhelds fall back to getRandomValues.
function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// fetch with the staff key; retries the very same request on network errors and 5xx.
async function call(method, path, body, onRetry) {
  let lastError = null;
  for (let attempt = 1; attempt <= RETRIES; attempt++) {
    if (attempt > 1) {
      if (onRetry) onRetry(attempt);
      await sleep(250 * 2 ** (attempt - 2)); // 250, 500, 1000, 2000 ms
    }
    let res;
    try {
      res = await fetch(path, {
        method,
        headers: {
          Authorization: `Bearer ${sessionStorage.getItem(KEY) || ""}`,
          ...(body ? { "Content-Type": "application/json" } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
      });
    } catch (err) {
      lastError = err; // network level: try again
      continue;
    }
    const data = await res.json().catch(() => null);
    if (res.status >= 500) { lastError = new Refused(res.status, data); continue; }
    if (res.status === 401) { signOut("Key not accepted"); throw new Refused(401, data); }
    if (!res.ok) throw new Refused(res.status, data);
    return data;
  }
  throw lastError || new Error("request failed");
}

function vibrate(pattern) {
  if ("vibrate" in navigator) navigator.vibrate(pattern);
}

function show(kind, title, detail) {
  const box = $("feedback");
  box.className = `feedback ${kind}`;
  $("feedback-title").textContent = title;
  $("feedback-detail").textContent = detail || "";
  box.hidden = false;
}

function clearFeedback() {
  $("feedback").hidden = true;
}

const reasonText = (reason) => (reason || "refused").replace(/_/g, " ").toUpperCase();

function view(name) {
  for (const id of ["signin", "worklist", "station"]) $(id).hidden = id !== name;
  $("signout").hidden = name === "signin";
}

// ---- sign in / out -------------------------------------------------------------------

function signOut(message) {
  sessionStorage.removeItem(KEY);
  current = null;
  shown = null;
  $("ready-list").replaceChildren();
  $("ready-labels").hidden = true;
  view("signin");
  if (message) show("bad", message, "Check the staff key and try again.");
  else clearFeedback();
  $("key").value = "";
  $("key").focus();
}

$("signin-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  sessionStorage.setItem(KEY, $("key").value.trim());
  sessionStorage.setItem(STATION, $("station-name").value.trim());
  clearFeedback();
  await loadWorkList();
});

$("signout").addEventListener("click", () => signOut());

// ---- work list -----------------------------------------------------------------------

async function loadWorkList() {
  let items;
  try {
    items = await call("GET", API);
  } catch (err) {
    if (!(err instanceof Refused && err.status === 401)) {
      show("bad", "Work list unavailable", err.message);
    }
    return;
  }
  current = null;
  view("worklist");
  // The API orders by priority (highest first), then age; only what can still be picked.
  const open = items.filter((s) => s.status === "open" || s.status === "picking");
  const list = $("shipments");
  list.replaceChildren(...open.map(workItem));
  $("empty").hidden = open.length > 0;
}

function workItem(s) {
  const li = document.createElement("li");
  const btn = document.createElement("button");
  btn.type = "button";
  btn.dataset.shipmentId = s.shipment_id;
  const units = s.lines.reduce((n, l) => n + l.quantity - l.picked, 0);
  const title = document.createElement("span");
  title.textContent = `${s.order_id} `;
  if (s.priority > 0) {
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = `priority ${s.priority}`;
    title.append(badge);
  }
  const meta = document.createElement("span");
  meta.className = "meta";
  meta.textContent = `${s.shipment_id} · ${s.warehouse} · ${s.status} · ${units} to pick`;
  btn.append(title, meta);
  btn.addEventListener("click", () => openShipment(s));
  li.append(btn);
  return li;
}

$("refresh").addEventListener("click", loadWorkList);
$("back").addEventListener("click", () => { clearFeedback(); loadWorkList(); });
$("next").addEventListener("click", () => { clearFeedback(); loadWorkList(); });

// ---- scanning ------------------------------------------------------------------------

function openShipment(s) {
  current = { ...s, stage: "pick", lines: s.lines.map((l) => ({ ...l, verified: 0 })) };
  view("station");
  clearFeedback();
  $("shipment-title").textContent = `${s.order_id} · ${s.shipment_id}`;
  $("scan-form").hidden = false;
  $("pack-form").hidden = true;
  $("packaging-form").hidden = true;
  $("shipped").hidden = true;
  renderLines();
  if (remaining() === 0) showPack();
  else focusScan();
}

// At the "pack" stage (high-value orders) every picked item is scanned again at the pack
// station; the counts then track that re-scan.
const done = (l) => (current.stage === "pack" ? l.verified : l.picked);
const remaining = () => current.lines.reduce((n, l) => n + Math.max(l.quantity - done(l), 0), 0);

function renderLines() {
  const rows = current.lines.map((l) => {
    const tr = document.createElement("tr");
    tr.dataset.sku = l.sku;
    const left = Math.max(l.quantity - done(l), 0);
    tr.className = left === 0 ? "done" : "";
    for (const [cls, text] of [["sku", l.sku], ["quantity", l.quantity], ["picked", done(l)], ["remaining", left]]) {
      const td = document.createElement("td");
      td.className = cls;
      td.textContent = text;
      tr.append(td);
    }
    return tr;
  });
  $("lines").tBodies[0].replaceChildren(...rows);
  const n = remaining();
  const verb = current.stage === "pack" ? "verify" : "pick";
  $("shipment-remaining").textContent =
    n === 0 ? `All items ${verb === "pick" ? "picked" : "verified"}` : `${n} item${n === 1 ? "" : "s"} left to ${verb}`;
}

function focusScan() {
  const input = $("barcode");
  if (!$("station").hidden && !$("scan-form").hidden) input.focus();
}

$("scan-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = $("barcode");
  const barcode = input.value.trim();
  input.value = "";
  focusScan(); // the scanner's next code must land here
  if (!barcode || !current) return;
  const shipmentId = current.shipment_id;
  const scanId = newId();
  const stage = current.stage;
  queue = queue.then(() => sendScan(shipmentId, barcode, scanId, stage));
});

async function sendScan(shipmentId, barcode, scanId, stage) {
  const station = sessionStorage.getItem(STATION) || null;
  try {
    const answer = await call(
      "POST",
      `${API}/${encodeURIComponent(shipmentId)}/scans`,
      { barcode, scan_id: scanId, quantity: 1, station, stage },
      (attempt) => show("pending", "Retrying…", `${barcode} (attempt ${attempt} of ${RETRIES})`),
    );
    if (!current || current.shipment_id !== shipmentId) return;
    const line = current.lines.find((l) => l.sku === answer.sku);
    const verb = stage === "pack" ? "verified" : "picked";
    if (line) line[stage === "pack" ? "verified" : "picked"] = answer.picked;
    renderLines();
    show("ok", `✓ ${answer.sku}`,
      `${verb} ${answer.picked} · ${answer.remaining} left of this item · ${answer.shipment_remaining} left in shipment`);
    vibrate(80);
    if (answer.shipment_remaining === 0) showPack();
  } catch (err) {
    if (err instanceof Refused) {
      if (err.status === 401) return;
      show("bad", reasonText(err.body.reason), `${barcode}: ${err.message}`);
    } else {
      show("bad", "NOT SENT", `${barcode}: the network is down — scan it again`);
    }
    vibrate([200, 100, 200]);
  } finally {
    focusScan();
  }
}

$("keyboard").addEventListener("click", () => {
  const input = $("barcode");
  const on = input.inputMode === "none";
  input.inputMode = on ? "text" : "none";
  $("keyboard").setAttribute("aria-pressed", String(on));
  input.focus();
});

// A wedge scanner types wherever focus is: pull stray keystrokes back into the scan input.
document.addEventListener("keydown", (e) => {
  const tag = document.activeElement && document.activeElement.tagName;
  if (tag === "INPUT" || tag === "TEXTAREA" || e.ctrlKey || e.metaKey || e.altKey) return;
  if (e.key.length === 1) focusScan();
});

// ---- packing -------------------------------------------------------------------------

function showPack() {
  $("scan-form").hidden = true;
  $("pack-form").hidden = false;
  $("weight").focus();
}

$("pack-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const grams = parseInt($("weight").value, 10);
  if (!current || !(grams > 0)) return;
  const button = e.submitter || $("pack-form").querySelector("button");
  button.disabled = true;
  show("pending", "Packing…", `${grams} g`);
  try {
    const out = await call(
      "POST",
      `${API}/${encodeURIComponent(current.shipment_id)}/pack`,
      { weight_grams: grams },
      (attempt) => show("pending", "Retrying…", `pack (attempt ${attempt} of ${RETRIES})`),
    );
    $("pack-form").hidden = true;
    $("shipped").hidden = false;
    vibrate(80);
    if (out.label_status === "pending") {
      // 202: packed, the carrier has not answered yet. The label follows; keep packing.
      $("label-pending").hidden = false;
      $("label-ready").hidden = true;
      show("ok", "✓ PACKED", `${current.order_id}: label pending`);
      awaitLabel(current.shipment_id, current.order_id);
    } else {
      showLabel(current.shipment_id, out.tracking, out.label_url);
      show("ok", "✓ PACKED", `${current.order_id} is ready to ship`);
    }
    $("next").focus();
  } catch (err) {
    if (err instanceof Refused) {
      if (err.status === 401) return;
      show("bad", reasonText(err.body.reason), err.message);
      if (err.body.reason === "packaging_unchecked") {
        // Fragile items: the template wants the packer's confirmation before packing.
        $("pack-form").hidden = true;
        $("packaging-form").hidden = false;
        $("packaging-confirm").focus();
        return;
      }
      if (err.body.reason === "items_unverified") {
        // This order's template wants every item re-scanned at the pack station first.
        current.stage = "pack";
        $("pack-form").hidden = true;
        $("scan-form").hidden = false;
        renderLines();
        focusScan();
        return;
      }
    } else {
      show("bad", "NOT SENT", "The network is down — try Pack again");
    }
    vibrate([200, 100, 200]);
    $("weight").select();
  } finally {
    button.disabled = false;
  }
});

$("packaging-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!current) return;
  const button = $("packaging-confirm");
  button.disabled = true;
  try {
    await call(
      "POST",
      `${API}/${encodeURIComponent(current.shipment_id)}/packaging-check`,
      { note: `confirmed at ${sessionStorage.getItem(STATION) || "the pack station"}` },
      (attempt) => show("pending", "Retrying…", `packaging check (attempt ${attempt})`),
    );
    show("ok", "✓ PACKAGING OK", "Now weigh the parcel and pack");
    $("packaging-form").hidden = true;
    showPack();
  } catch (err) {
    show("bad", err instanceof Refused ? reasonText(err.body.reason) : "NOT SENT", err.message);
    vibrate([200, 100, 200]);
  } finally {
    button.disabled = false;
  }
});

// ---- labels --------------------------------------------------------------------------

let shown = null; // the label on the shipped panel: {shipmentId, number, url}

// The label in another format: same endpoint, ``format`` swapped.
function labelUrl(url, format) {
  const u = new URL(url, location.origin);
  u.searchParams.set("format", format);
  return u.pathname + u.search;
}

// The label's bytes, fetched with the staff key (retried like every call).
async function fetchLabel(url) {
  let lastError = null;
  for (let attempt = 1; attempt <= RETRIES; attempt++) {
    if (attempt > 1) await sleep(250 * 2 ** (attempt - 2));
    let res;
    try {
      res = await fetch(url, { headers: { Authorization: `Bearer ${sessionStorage.getItem(KEY) || ""}` } });
    } catch (err) { lastError = err; continue; }
    if (res.status >= 500) { lastError = new Refused(res.status, null); continue; }
    if (res.status === 401) { signOut("Key not accepted"); throw new Refused(401, null); }
    if (!res.ok) throw new Refused(res.status, await res.json().catch(() => null));
    return res.blob();
  }
  throw lastError || new Error("request failed");
}

function labelProblem(err) {
  if (err instanceof Refused && err.status === 401) return;
  const title = err instanceof Refused ? reasonText(err.body.reason) : "LABEL NOT LOADED";
  show("bad", title, err.message);
  vibrate([200, 100, 200]);
}

async function printLabel(label) {
  try {
    const blob = await fetchLabel(labelUrl(label.url, "pdf"));
    const frame = $("print-frame");
    const old = frame.dataset.objectUrl;
    const src = URL.createObjectURL(new Blob([blob], { type: "application/pdf" }));
    frame.dataset.objectUrl = src;
    frame.dataset.tracking = label.number;
    frame.onload = () => {
      if (old) URL.revokeObjectURL(old);
      try {
        frame.contentWindow.focus();
        frame.contentWindow.print();
      } catch (err) {
        window.open(src, "_blank", "noopener"); // no in-page printing: the browser's viewer
      }
    };
    frame.src = src;
  } catch (err) { labelProblem(err); }
}

async function downloadLabel(label, format) {
  try {
    const blob = await fetchLabel(labelUrl(label.url, format));
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `label-${label.number}.${format}`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 60000);
  } catch (err) { labelProblem(err); }
}

function showLabel(shipmentId, tracking, url) {
  shown = { shipmentId, number: tracking.number, url };
  $("label-pending").hidden = true;
  $("tracking-number").textContent = tracking.number;
  $("carrier").textContent = `Carrier: ${tracking.carrier}`;
  $("tracking-link").href = tracking.url || "#";
  $("tracking-link").parentElement.hidden = !tracking.url;
  $("label-ready").hidden = false;
}

$("print-label").addEventListener("click", () => shown && printLabel(shown));
$("download-pdf").addEventListener("click", () => shown && downloadLabel(shown, "pdf"));
$("download-zpl").addEventListener("click", () => shown && downloadLabel(shown, "zpl"));

// 202 from pack: ask the shipment every 2 s until its label is ready, even after the
// packer moved on to the next shipment; then show it (and print it) where they are.
const POLL_MS = 2000;
const waiting = new Set();

async function awaitLabel(shipmentId, orderId) {
  if (waiting.has(shipmentId)) return;
  waiting.add(shipmentId);
  try {
    while (sessionStorage.getItem(KEY)) {
      await sleep(POLL_MS);
      let s;
      try {
        s = await call("GET", `${API}/${encodeURIComponent(shipmentId)}`);
      } catch (err) {
        if (err instanceof Refused && err.status < 500) return; // signed out, gone, forbidden
        continue; // the network: ask again
      }
      if (s.label_status === "voided") {
        show("bad", "LABEL VOIDED", `${orderId}: the shipment was cancelled — do not ship it`);
        vibrate([200, 100, 200]);
        return;
      }
      if (s.label_status === "ready" && s.tracking && s.label_url) {
        labelReady(shipmentId, orderId, s.tracking, s.label_url);
        return;
      }
    }
  } finally {
    waiting.delete(shipmentId);
  }
}

function labelReady(shipmentId, orderId, tracking, url) {
  const label = { shipmentId, number: tracking.number, url };
  if (current && current.shipment_id === shipmentId && !$("shipped").hidden) {
    showLabel(shipmentId, tracking, url);
    show("ok", "✓ LABEL READY", `${orderId}: printing ${tracking.number}`);
  } else {
    addReadyLabel(orderId, tracking, label); // the packer is on another parcel now
    show("ok", "✓ LABEL READY", `${orderId} · ${tracking.number}`);
  }
  vibrate(80);
  printLabel(label);
}

function addReadyLabel(orderId, tracking, label) {
  const li = document.createElement("li");
  li.dataset.shipmentId = label.shipmentId;
  const what = document.createElement("span");
  what.textContent = `${orderId} · ${tracking.number}`;
  const buttons = [
    ["Print", () => printLabel(label)],
    ["PDF", () => downloadLabel(label, "pdf")],
    ["ZPL", () => downloadLabel(label, "zpl")],
    ["Done", () => { li.remove(); $("ready-labels").hidden = !$("ready-list").children.length; }],
  ].map(([text, onClick]) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "secondary";
    b.textContent = text;
    b.addEventListener("click", onClick);
    return b;
  });
  li.append(what, ...buttons);
  $("ready-list").append(li);
  $("ready-labels").hidden = false;
}

// ---- start ---------------------------------------------------------------------------

if (sessionStorage.getItem(KEY)) { view("worklist"); loadWorkList(); }
else signOut();
