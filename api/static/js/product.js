// Product view: a modal dialog with the product's details and shoes that look like it.

import { get } from "./api.js";
import { money, t, valueLabel } from "./i18n.js";
import { card, errorAdvice } from "./results.js";

const SIMILAR = 8;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

const humanise = (key) => key.replace(/[_-]+/g, " ").replace(/^\w/, (c) => c.toUpperCase());

function facts(p) {
  const dl = el("dl", "facts");
  const rows = [
    [t("brand"), p.brand],
    [t("category"), p.category && valueLabel("category", p.category)],
    [t("gender"), p.gender && valueLabel("gender", p.gender)],
    [t("colour"), p.colour && valueLabel("colour", p.colour)],
  ];
  for (const [k, v] of Object.entries(p.attributes || {})) {
    if (v != null && v !== "" && typeof v !== "object") rows.push([humanise(k), String(v)]);
  }
  for (const [k, v] of rows) {
    if (!v) continue;
    dl.append(el("dt", null, k), el("dd", null, v));
  }
  return dl;
}

/** Render product `id` into the dialog; onSeeAll(product) switches the page to its similar shoes. */
export async function showProduct(dialog, id, { onSeeAll, onClose }) {
  const inner = dialog.querySelector(".product-inner");
  const close = el("button", "x close", "×");
  close.type = "button";
  close.setAttribute("aria-label", t("close"));
  close.addEventListener("click", () => onClose());
  inner.replaceChildren(close, el("p", "status", t("loading")));
  if (!dialog.open) dialog.showModal();
  dialog.setAttribute("aria-busy", "true");

  let p;
  try {
    p = await get(`/products/${id}`);
  } catch (err) {
    const msg = el("div", "message error");
    msg.append(el("p", "message-title", t("productMissing")), el("p", "message-detail", err.detail || ""), el("p", null, errorAdvice(err)));
    inner.replaceChildren(close, msg);
    dialog.removeAttribute("aria-busy");
    return;
  }

  const head = el("div", "product-head");
  const ph = el("div", "ph big");
  if (p.photo_url) {
    const img = el("img");
    img.src = p.photo_url;
    img.alt = p.title;
    ph.append(img);
  }
  const info = el("div", "product-info");
  const h = el("h2", null, p.title);
  h.id = "product-title";
  info.append(h, el("p", "price big", money(p.price, p.currency)), facts(p));
  if (p.description) info.append(el("p", "desc", p.description));
  if (p.url && /^https?:\/\//.test(p.url)) {
    const a = el("a", "btn ghost small", t("openListing"));
    a.href = p.url;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    info.append(a);
  }
  head.append(ph, info);

  const simSection = el("section", "similar");
  simSection.setAttribute("aria-labelledby", "similar-title");
  const sh = el("h3", null, t("similarShoes"));
  sh.id = "similar-title";
  const grid = el("ul", "grid small");
  const simStatus = el("p", "status", t("loading"));
  simStatus.setAttribute("aria-live", "polite");
  const all = el("button", "btn ghost small", t("seeAllSimilar"));
  all.type = "button";
  all.addEventListener("click", () => onSeeAll(p));
  simSection.append(sh, simStatus, grid, all);
  inner.replaceChildren(close, head, simSection);
  dialog.removeAttribute("aria-busy");
  close.focus();

  try {
    const res = await get(`/products/${id}/similar`, { limit: SIMILAR });
    grid.replaceChildren(...res.hits.map((hit) => card(hit, {})));
    simStatus.textContent = res.hits.length ? "" : t("noSimilar");
    simStatus.hidden = res.hits.length > 0;
  } catch (err) {
    simStatus.textContent = `${err.detail || ""} ${errorAdvice(err)}`.trim();
  }
}
