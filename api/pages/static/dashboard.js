// The dashboard's only script: live updates over SSE, keyboard moves, confirmations.
// Pages work without it (forms post, links navigate); this makes them live and quick.
"use strict";

(function () {
  const page = document.body.dataset.page;
  const stateEl = document.getElementById("live-state");

  // --- confirmation before destructive actions -------------------------------------------
  document.addEventListener("submit", (ev) => {
    const form = ev.target;
    let message = form.dataset.confirm;
    if (!message && form.id === "bulk-form") {
      const action = form.elements.action.value;
      const n = document.querySelectorAll('input[name="order_ids"]:checked').length;
      if (n === 0) { ev.preventDefault(); alert("Select at least one order."); return; }
      if ((form.dataset.confirmActions || "").split(",").includes(action)) {
        message = `${action.replace("_", " ")} for ${n} order(s)?`;
      }
    }
    if (message && !window.confirm(message)) ev.preventDefault();
  });

  // --- helpers ------------------------------------------------------------------------
  function debounce(fn, ms) {
    let t = null;
    return () => { clearTimeout(t); t = setTimeout(fn, ms); };
  }
  async function fetchText(url) {
    const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (r.redirected && new URL(r.url).pathname === "/login") { location.reload(); return null; }
    return r.ok ? r.text() : null;
  }
  function withParam(url, key, value) {
    const u = new URL(url, location.origin);
    u.searchParams.set(key, value);
    return u.pathname + u.search;
  }

  // --- orders list ----------------------------------------------------------------------
  function rows() { return Array.from(document.querySelectorAll("#order-rows tr[data-order-id]")); }
  let cursor = -1;
  function mark(i) {
    const all = rows();
    if (!all.length) return;
    cursor = Math.max(0, Math.min(i, all.length - 1));
    all.forEach((r, j) => r.classList.toggle("cursor", j === cursor));
    all[cursor].scrollIntoView({ block: "nearest" });
  }
  function updateSelected() {
    const el = document.getElementById("selected-count");
    if (el) el.textContent = document.querySelectorAll('input[name="order_ids"]:checked').length;
  }

  const refreshRows = debounce(async () => {
    if (page !== "orders" || document.body.dataset.firstPage !== "yes") return;
    const checked = new Set(Array.from(document.querySelectorAll('input[name="order_ids"]:checked')).map((c) => c.value));
    const current = rows()[cursor] ? rows()[cursor].dataset.orderId : null;
    const html = await fetchText(withParam(location.href, "fragment", "rows"));
    if (html === null) return;
    document.getElementById("order-rows").innerHTML = html;
    rows().forEach((r, j) => {
      const box = r.querySelector('input[name="order_ids"]');
      if (box && checked.has(box.value)) box.checked = true;
      if (r.dataset.orderId === current) cursor = j;
    });
    if (cursor >= 0) mark(cursor);
    updateSelected();
  }, 250);

  const refreshCounts = debounce(async () => {
    const r = await fetch("/api/v1/orders/counts", { credentials: "same-origin" });
    if (!r.ok) return;
    const counts = await r.json();
    let total = 0;
    for (const [status, n] of Object.entries(counts)) {
      total += n;
      const el = document.querySelector(`[data-count="${status}"]`);
      if (el) el.textContent = n;
    }
    const all = document.querySelector('[data-count="all"]');
    if (all) all.textContent = total;
  }, 250);

  function onOrderEvent(data) {
    if (page === "orders") {
      const row = document.querySelector(`#order-rows tr[data-order-id="${CSS.escape(data.order_id)}"]`);
      if (row) {
        const cell = row.querySelector('[data-field="status"]');
        if (cell && cell.textContent !== data.status.replace(/_/g, " ")) {
          cell.textContent = data.status.replace(/_/g, " ");
          cell.className = `status s-${data.status}`;
          row.classList.add("changed");
          setTimeout(() => row.classList.remove("changed"), 1500);
        }
      }
      refreshRows();
      refreshCounts();
    } else if (page === "order" && data.order_id === document.body.dataset.orderId) {
      refreshMain();
    } else if (page === "ops") {
      refreshMain();
    }
  }

  // --- order, floor and ops pages: swap the live part --------------------------------------
  const refreshMain = debounce(async () => {
    const main = document.getElementById("live-main");
    if (!main) return;
    const html = await fetchText(withParam(location.href, "fragment", "main"));
    if (html !== null) main.innerHTML = html;
  }, 200);

  function onShipmentEvent(data) {
    if (page === "order" && data.order_id === document.body.dataset.orderId) refreshMain();
    if (page === "floor") refreshMain();
  }

  // --- the stream ---------------------------------------------------------------------
  let source = null;
  let lastId = null;
  function setState(state, text) {
    if (!stateEl) return;
    stateEl.dataset.state = state;
    stateEl.textContent = text;
  }
  function connect() {
    if (!stateEl) return; // not signed in
    const url = lastId ? `/api/v1/stream?last_event_id=${encodeURIComponent(lastId)}` : "/api/v1/stream";
    source = new EventSource(url);
    setState("connecting", "connecting…");
    source.addEventListener("ready", (ev) => { lastId = ev.lastEventId || lastId; setState("live", "● live"); });
    source.addEventListener("order", (ev) => { lastId = ev.lastEventId || lastId; onOrderEvent(JSON.parse(ev.data)); });
    source.addEventListener("shipment", (ev) => onShipmentEvent(JSON.parse(ev.data)));
    source.addEventListener("reset", () => { refreshRows(); refreshCounts(); refreshMain(); });
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up: the server said no (session ended?) or is down. Find out.
        setState("offline", "offline — retrying");
        setTimeout(async () => {
          try {
            const r = await fetch("/api/v1/orders/counts", { credentials: "same-origin" });
            if (r.status === 401) { location.reload(); return; } // to /login
          } catch (e) { /* still down: try the stream again */ }
          connect();
        }, 3000);
      } else {
        setState("reconnecting", "reconnecting…");
      }
    };
  }
  connect();
  window.omsStream = { state: () => (stateEl ? stateEl.dataset.state : null) };

  // --- keyboard -----------------------------------------------------------------------
  document.addEventListener("keydown", (ev) => {
    const t = ev.target;
    const typing = t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement;
    if (ev.key === "Escape" && typing) { t.blur(); return; }
    if (typing || ev.metaKey || ev.ctrlKey || ev.altKey) return;
    if (ev.key === "/") {
      const q = document.getElementById("q");
      if (q) { ev.preventDefault(); q.focus(); q.select(); }
    } else if (page === "orders" && ev.key === "j") {
      mark(cursor + 1);
    } else if (page === "orders" && ev.key === "k") {
      mark(cursor - 1);
    } else if (page === "orders" && ev.key === "x" && rows()[cursor]) {
      const box = rows()[cursor].querySelector('input[name="order_ids"]');
      if (box) { box.checked = !box.checked; updateSelected(); }
    } else if (page === "orders" && ev.key === "Enter" && rows()[cursor]) {
      location.href = rows()[cursor].dataset.href;
    } else if (page === "order" && ev.key === "j") {
      const n = document.getElementById("next-order"); if (n) location.href = n.href;
    } else if (page === "order" && ev.key === "k") {
      const p = document.getElementById("prev-order"); if (p) location.href = p.href;
    }
  });

  document.addEventListener("change", (ev) => {
    if (ev.target.id === "select-all") {
      document.querySelectorAll('input[name="order_ids"]').forEach((b) => { b.checked = ev.target.checked; });
    }
    updateSelected();
  });
})();
