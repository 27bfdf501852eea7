// The search view: runs text, photo and "like this" searches, renders chips, facets and the grid.

import { ApiError, get, request } from "./api.js";
import { activeFilterCount, renderFacets } from "./filters.js";
import { money, t, valueLabel } from "./i18n.js";
import { card, errorAdvice, hideMessage, showMessage } from "./results.js";
import { emptyState, filterParams, hasFilters, readState, toSearch } from "./state.js";

const PAGE = 24;
// With no words, no photo and no product, the page browses the catalogue: a neutral query with
// query understanding off, so only the filters decide what is shown.
const BROWSE = { q: "shoes", understand: false };

const $ = (id) => document.getElementById(id);

export function searchView() {
  const ui = {
    form: $("search"), q: $("q"), chips: $("chips"), facets: $("facets"), status: $("status"), message: $("message"),
    grid: $("grid"), more: $("more"), moreBox: $("more-box"), photoChip: $("photo-chip"), photoThumb: $("photo-thumb"),
    clear: $("clear-filters"), filterCount: $("filter-count"), results: $("results"),
  };
  let state = readState();
  let photo = null; // the File of a photo search (not in the URL: it can't be shared)
  let photoUrl = null;
  let hits = [];
  let last = null; // last search response
  let lastFacets = null;
  let hasMore = false;
  let loading = false;
  let seq = 0;
  let similarTitle = null;
  const brandNames = {}; // lower-case brand → catalogue spelling, learned from hits

  ui.q.value = state.q;

  function mode() {
    if (photo) return "photo";
    if (state.similar != null) return "similar";
    return state.q ? "text" : "browse";
  }

  function call(offset) {
    const params = { ...filterParams(state), limit: PAGE, offset };
    switch (mode()) {
      case "photo": {
        const form = new FormData();
        form.append("file", photo, photo.name || "photo");
        if (state.q) form.append("q", state.q);
        return request("POST", "/search/image", { params: { ...params, ignore: state.ignore }, form });
      }
      case "similar":
        return get(`/products/${state.similar}/similar`, params);
      case "text":
        return get("/search", { ...params, q: state.q, ignore: state.ignore });
      default:
        return get("/search", { ...params, ...BROWSE });
    }
  }

  function facetsCall() {
    const params = filterParams(state);
    if (state.q && (mode() === "text" || mode() === "photo")) Object.assign(params, { q: state.q, ignore: state.ignore });
    return get("/search/facets", params);
  }

  async function run({ more = false } = {}) {
    const my = ++seq;
    loading = true;
    ui.results.setAttribute("aria-busy", "true");
    ui.more.hidden = true;
    if (!more) {
      ui.status.textContent = t("loading");
      facetsCall().then((f) => { if (my === seq) { lastFacets = f; drawFacets(); } }).catch(() => {});
      if (state.similar != null && similarTitle?.id !== state.similar) {
        get(`/products/${state.similar}`).then((p) => { similarTitle = { id: p.id, title: p.title }; drawChips(); }).catch(() => {});
      }
    } else {
      ui.status.textContent = t("loadingMore");
    }
    try {
      const res = await call(more ? hits.length : 0);
      if (my !== seq) return;
      last = res;
      let learned = false;
      for (const h of res.hits) {
        const key = h.brand?.toLowerCase();
        if (key && brandNames[key] !== h.brand) { brandNames[key] = h.brand; learned = true; }
      }
      if (learned) drawFacets(); // brands as the catalogue spells them ("FILA", not "Fila")
      hits = more ? hits.concat(res.hits) : res.hits;
      hasMore = res.hits.length === PAGE;
      hideMessage(ui.message);
      if (more) ui.grid.append(...res.hits.map(toCard));
      else ui.grid.replaceChildren(...hits.map(toCard));
      if (!hits.length) showEmpty();
    } catch (err) {
      if (my !== seq || err.name === "AbortError") return;
      showError(err instanceof ApiError ? err : new ApiError(0, String(err)), more);
    } finally {
      if (my === seq) {
        loading = false;
        ui.results.removeAttribute("aria-busy");
        drawStatus();
        drawChips();
      }
    }
  }

  const toCard = (hit) => card(hit, { onLike: likeThis });

  function showEmpty() {
    const filtered = hasFilters(state) || (last?.understood || []).length > 0;
    showMessage(ui.message, {
      kind: "empty",
      title: t("emptyTitle"),
      advice: filtered ? t("emptyFilters") : t("emptyQuery"),
      actions: hasFilters(state) ? [{ label: t("clearFilters"), run: clearFilters }] : [],
    });
  }

  function showError(err, more) {
    if (!more) {
      hits = [];
      last = null;
      ui.grid.replaceChildren();
    }
    const actions = [{ label: t("retry"), run: () => run({ more }) }];
    if (photo && err.status >= 400 && err.status < 500) actions.unshift({ label: t("photoRemove"), run: () => setPhoto(null) });
    showMessage(ui.message, { kind: "error", title: t("errorTitle"), detail: err.status ? err.detail : "", advice: errorAdvice(err), actions });
  }

  function drawStatus() {
    if (loading) return;
    if (!last) { ui.status.textContent = ""; return; }
    const n = hits.length;
    const key = { text: "countFor", photo: "countPhoto", similar: "countSimilar", browse: "countBrowse" }[mode()];
    ui.status.textContent = n ? t(hasMore ? `${key}More` : key, { n, q: state.q }) : t("emptyTitle");
    ui.more.hidden = !hasMore;
  }

  function chip(text, label, onRemove, cls = "") {
    const span = document.createElement("span");
    span.className = `chip ${cls}`;
    const txt = document.createElement("span");
    txt.textContent = text;
    const x = document.createElement("button");
    x.type = "button";
    x.className = "x";
    x.textContent = "×";
    x.setAttribute("aria-label", label);
    x.addEventListener("click", onRemove);
    span.append(txt, x);
    return span;
  }

  function drawChips() {
    const parts = [];
    if (mode() === "similar") {
      const title = similarTitle?.id === state.similar ? similarTitle.title : `#${state.similar}`;
      parts.push(chip(t("similarTo", { title }), t("similarRemove"), () => navigate({ ...state, similar: null }), "similar"));
    }
    const understood = (last?.understood || []).filter((u) => !state.ignore.includes(u.kind));
    if (understood.length) {
      const lead = document.createElement("span");
      lead.className = "lead";
      lead.textContent = t("chipsLead");
      parts.push(lead);
    }
    for (const u of understood) {
      const currency = lastFacets?.currency || hits[0]?.currency || "VND";
      const text = u.kind.startsWith("price")
        ? t(`kind_${u.kind}`, { value: money(u.value, currency) })
        : `${t(u.kind)}: ${valueLabel(u.kind, String(u.value), brandNames)}`;
      const remove = () => navigate({ ...state, ignore: [...new Set([...state.ignore, u.kind])] });
      const c = chip(text, t("removeChip", { label: text }), remove, `understood kind-${u.kind}`);
      c.title = `“${u.phrase}”`;
      c.dataset.kind = u.kind;
      parts.push(c);
    }
    ui.chips.replaceChildren(...parts);
    ui.chips.hidden = !parts.length;
  }

  function drawFacets() {
    if (!lastFacets) return;
    renderFacets(ui.facets, lastFacets, state, brandNames, {
      onList: (kind, values) => navigate({ ...state, [kind]: values }),
      onPrice: (min, max) => navigate({ ...state, price_min: min, price_max: max }),
    });
    const n = activeFilterCount(state);
    ui.clear.hidden = !n;
    ui.filterCount.hidden = !n;
    ui.filterCount.textContent = n;
  }

  /** Move to a new search state: into the URL (history), then search. */
  function navigate(next, { push = true } = {}) {
    const url = `${location.pathname}${toSearch(next)}`;
    const same = toSearch(next) === toSearch(state) && !location.hash;
    state = next;
    if (!same || !push) history[push ? "pushState" : "replaceState"](null, "", url);
    run();
  }

  function clearFilters() {
    navigate({ ...emptyState(), q: state.q, ignore: state.ignore, similar: state.similar });
  }

  function likeThis(hit) {
    setPhoto(null, { silent: true });
    ui.q.value = "";
    similarTitle = { id: hit.id, title: hit.title };
    navigate({ ...state, q: "", ignore: [], similar: hit.id });
    window.scrollTo({ top: 0 });
    ui.results.focus({ preventScroll: true });
  }

  function setPhoto(file, { silent = false } = {}) {
    if (photoUrl) URL.revokeObjectURL(photoUrl);
    photo = file;
    photoUrl = file ? URL.createObjectURL(file) : null;
    ui.photoChip.hidden = !file;
    ui.photoThumb.src = photoUrl || "";
    ui.photoThumb.alt = file ? t("photoSearch") : "";
    if (!silent) navigate({ ...state, similar: null, ignore: [] });
  }

  ui.form.addEventListener("submit", (e) => {
    e.preventDefault();
    const q = ui.q.value.trim();
    // A new query starts afresh: the understood chips of the last one no longer apply.
    navigate({ ...state, q, ignore: q === state.q ? state.ignore : [], similar: photo ? null : q ? null : state.similar });
  });
  $("photo-clear").addEventListener("click", () => { setPhoto(null); ui.q.focus(); });
  ui.clear.addEventListener("click", clearFilters);
  ui.more.addEventListener("click", () => run({ more: true }));
  new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting) && hasMore && !loading && hits.length) run({ more: true });
  }, { rootMargin: "400px" }).observe(ui.moreBox);

  return {
    run,
    setPhoto,
    /** The URL changed under us (back/forward): follow it. */
    fromUrl() {
      const next = readState();
      if (toSearch(next) === toSearch(state)) return;
      state = next;
      ui.q.value = state.q;
      run();
    },
    showSimilar(product) {
      similarTitle = { id: product.id, title: product.title };
      setPhoto(null, { silent: true });
      ui.q.value = "";
      navigate({ ...state, q: "", ignore: [], similar: product.id });
    },
    relabel() {
      ui.grid.replaceChildren(...hits.map(toCard));
      drawFacets();
      drawChips();
      drawStatus();
      if (!ui.message.hidden && last && !hits.length) showEmpty();
      if (photo) ui.photoThumb.alt = t("photoSearch");
    },
  };
}
