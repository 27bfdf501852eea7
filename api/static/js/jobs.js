// Operators' view: start an ingest job from a feed on the server, follow it, read its item errors.

import { get, request } from "./api.js";
import { t, translate } from "./i18n.js";

const KEY = "clipshoe.apiKey";
const POLL_MS = 1000;
const ACTIVE = new Set(["pending", "running"]);

const TEMPLATE = `
  <h1 data-i18n="jobsTitle"></h1>
  <p class="hint" data-i18n="jobsIntro"></p>
  <form id="job-form" class="job-form">
    <div class="row wide">
      <label for="job-feed" data-i18n="feed"></label>
      <input id="job-feed" name="feed" required placeholder="/data/feeds/styles.csv" aria-describedby="job-feed-hint">
      <small id="job-feed-hint" data-i18n="feedHint"></small>
    </div>
    <div class="row">
      <label for="job-format" data-i18n="format"></label>
      <select id="job-format" name="format">
        <option value="" data-i18n="formatAuto"></option><option value="myntra">myntra</option><option value="jsonl">jsonl</option>
      </select>
    </div>
    <div class="row">
      <label for="job-source" data-i18n="source"></label>
      <input id="job-source" name="source" data-i18n-placeholder="sourceHint">
    </div>
    <div class="row">
      <label for="job-key" data-i18n="apiKey"></label>
      <input id="job-key" name="key" type="password" autocomplete="off" aria-describedby="job-key-hint">
      <small id="job-key-hint" data-i18n="apiKeyHint"></small>
    </div>
    <div class="row end"><button type="submit" class="btn primary" data-i18n="startJob"></button></div>
  </form>
  <div id="job-message" class="message" hidden role="alert"></div>
  <section aria-labelledby="jobs-recent">
    <div class="section-head"><h2 id="jobs-recent" data-i18n="recentJobs"></h2>
      <button type="button" id="jobs-refresh" class="btn ghost small" data-i18n="refresh"></button></div>
    <div class="table-wrap"><table id="jobs-table" class="jobs">
      <thead><tr><th data-i18n="job"></th><th data-i18n="status"></th><th data-i18n="progress"></th><th>Feed</th><th data-i18n="created"></th></tr></thead>
      <tbody></tbody></table></div>
    <p id="jobs-status" class="status" aria-live="polite"></p>
  </section>
  <section id="job-detail" class="job-detail" aria-live="polite" hidden></section>`;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

const when = (iso) => (iso ? new Date(iso.endsWith("Z") || iso.includes("+") ? iso : `${iso}Z`).toLocaleString() : "");
// Items, not batches: batches are added while the feed is still being read.
const pct = (j) => (j.status === "completed" ? 100 : j.total ? Math.min(100, Math.round((100 * j.done) / j.total)) : 0);

function progress(j) {
  const wrap = el("div", "progress");
  const bar = el("progress");
  bar.max = 100;
  bar.value = pct(j);
  bar.setAttribute("aria-label", `${t("job")} ${j.id}: ${pct(j)}%`);
  wrap.append(bar, el("span", "counts", `${j.indexed} ${t("indexed")} · ${j.unchanged} ${t("unchanged")} · ${j.failed} ${t("failed")} / ${j.total} ${t("total")}`));
  return wrap;
}

export function jobsView(root) {
  let selected = null;
  let timer = null;
  root.innerHTML = TEMPLATE;
  translate(root);
  const form = root.querySelector("#job-form");
  const key = root.querySelector("#job-key");
  const msg = root.querySelector("#job-message");
  const tbody = root.querySelector("#jobs-table tbody");
  const listStatus = root.querySelector("#jobs-status");
  const detail = root.querySelector("#job-detail");
  try { key.value = sessionStorage.getItem(KEY) || ""; } catch { /* no storage: type it each time */ }
  key.addEventListener("change", () => { try { sessionStorage.setItem(KEY, key.value); } catch { /* ignore */ } });

  const say = (text, kind = "error") => {
    msg.hidden = !text;
    msg.className = `message ${kind}`;
    msg.textContent = text || "";
  };

  async function loadList() {
    try {
      const jobs = await get("/ingest/jobs", { limit: 20 });
      tbody.replaceChildren(...jobs.map((j) => {
        const tr = el("tr");
        if (j.id === selected) tr.className = "selected";
        const open = el("button", "link", `#${j.id}`);
        open.type = "button";
        open.setAttribute("aria-label", `${t("view")} ${t("job")} ${j.id}`);
        open.addEventListener("click", () => select(j.id));
        const cells = [open, el("span", `pill ${j.status}`, t(`status_${j.status}`)), progress(j), el("span", "feed", j.feed), el("span", null, when(j.created_at))];
        for (const c of cells) { const td = el("td"); td.append(c); tr.append(td); }
        return tr;
      }));
      listStatus.textContent = jobs.length ? "" : t("noJobs");
      return jobs;
    } catch (err) {
      listStatus.textContent = t("jobLoadFailed", { detail: err.detail || err.message });
      return [];
    }
  }

  async function loadDetail() {
    if (selected == null) return null;
    try {
      const j = await get(`/ingest/jobs/${selected}`, { errors: 200 });
      const head = el("h2", null, `${t("job")} #${j.id} — `);
      head.append(el("span", `pill ${j.status}`, t(`status_${j.status}`)));
      const parts = [head, el("p", "feed", j.feed), progress(j), el("p", "counts", t("batches", { done: j.batches_done, total: j.batches_total }))];
      if (j.message) parts.push(el("p", "message error", j.message));
      parts.push(el("h3", null, t("errors")));
      if (j.errors.length) {
        const table = el("table", "errors");
        const hr = el("tr");
        for (const k of ["line", "sourceId", "stage", "reason"]) hr.append(el("th", null, t(k)));
        const thead = el("thead");
        thead.append(hr);
        const body = el("tbody");
        for (const e of j.errors) {
          const tr = el("tr");
          for (const v of [e.line ?? "", e.source_id ?? "", e.stage, e.reason]) tr.append(el("td", null, String(v)));
          body.append(tr);
        }
        table.append(thead, body);
        const wrap = el("div", "table-wrap");
        wrap.append(table);
        parts.push(wrap);
      } else {
        parts.push(el("p", "hint", t("noErrors")));
      }
      detail.replaceChildren(...parts);
      detail.hidden = false;
      return j;
    } catch (err) {
      detail.replaceChildren(el("p", "message error", err.detail || err.message));
      detail.hidden = false;
      return null;
    }
  }

  async function tick() {
    clearTimeout(timer);
    const [jobs, job] = await Promise.all([loadList(), loadDetail()]);
    const busy = jobs.some((j) => ACTIVE.has(j.status)) || (job && ACTIVE.has(job.status));
    if (busy && root.isConnected && !root.hidden) timer = setTimeout(tick, POLL_MS);
  }

  function select(id) {
    selected = id;
    // The followed job is in the URL: a reload or a shared link opens it again.
    history.replaceState(null, "", `${location.pathname}${location.search}#/jobs/${id}`);
    tick();
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const body = { feed: String(data.get("feed")).trim() };
    if (data.get("format")) body.format = data.get("format");
    if (String(data.get("source") || "").trim()) body.source = String(data.get("source")).trim();
    const headers = key.value ? { "X-API-Key": key.value } : {};
    const btn = form.querySelector("button[type=submit]");
    btn.disabled = true;
    btn.textContent = t("starting");
    try {
      const job = await request("POST", "/ingest/jobs", { json: body, headers });
      say(t("started", { id: job.id }), "ok");
      select(job.id);
    } catch (err) {
      say(err.detail || err.message);
    } finally {
      btn.disabled = false;
      btn.textContent = t("startJob");
    }
  });
  root.querySelector("#jobs-refresh").addEventListener("click", tick);

  return {
    show(id = null) {
      if (id != null) selected = id;
      tick();
    },
    hide() { clearTimeout(timer); },
    relabel() { translate(root); tick(); },
  };
}
