// Result cards and the message box (empty and error states that say what to do).

import { money, t } from "./i18n.js";

/** Offers of a grouped hit (`offers`: listings of the same shoe, with their price range); null for one. */
export function offerSummary(hit) {
  const n = Number(hit.offers);
  if (!(n > 1)) return null;
  return { n, lo: hit.offers_price_min ?? null, hi: hit.offers_price_max ?? null };
}

export function card(hit, { onLike }) {
  const li = document.createElement("li");
  li.className = "card";
  li.dataset.id = hit.id;
  li.dataset.brand = hit.brand || "";
  li.dataset.price = hit.price ?? "";
  const a = document.createElement("a");
  a.className = "card-link";
  a.href = `#/product/${hit.id}`;
  const fig = document.createElement("span");
  fig.className = "ph";
  if (hit.photo_url) {
    const img = document.createElement("img");
    img.src = hit.photo_url;
    img.alt = "";
    img.loading = "lazy";
    img.decoding = "async";
    img.width = 240;
    img.height = 320;
    fig.append(img);
  }
  const title = document.createElement("h3");
  title.className = "title";
  title.textContent = hit.title;
  a.append(fig, title);
  li.append(a);

  const meta = document.createElement("p");
  meta.className = "meta";
  const brand = document.createElement("span");
  brand.className = "brand";
  brand.textContent = hit.brand || "";
  const price = document.createElement("span");
  price.className = "price";
  price.textContent = money(hit.price, hit.currency);
  meta.append(brand, price);
  li.append(meta);

  const offers = offerSummary(hit);
  if (offers) {
    const p = document.createElement("p");
    p.className = "offers";
    let text = t("offers", { n: offers.n });
    if (offers.lo != null && offers.hi != null && offers.lo !== offers.hi) {
      text += ` · ${money(offers.lo, hit.currency)} – ${money(offers.hi, hit.currency)}`;
    }
    p.textContent = text;
    li.append(p);
  }

  if (onLike) {
    const like = document.createElement("button");
    like.type = "button";
    like.className = "btn ghost small like";
    like.textContent = t("likeThis");
    like.setAttribute("aria-label", t("likeThisLabel", { title: hit.title }));
    like.addEventListener("click", () => onLike(hit));
    li.append(like);
  }
  return li;
}

/** What went wrong and what to do about it, from an ApiError (status 0: unreachable). */
export function errorAdvice(err) {
  if (err.status === 0) return t("errNetwork");
  if (err.status === 413) return t("errTooBig");
  if (err.status === 400 && /photo/i.test(err.detail || "")) return t("errPhoto");
  if (err.status === 503) return t("errUnavailable");
  if (err.status >= 500) return t("errServer");
  return t("errBadRequest");
}

/** Fill the message box: a title, an explanation, and optional action buttons [{label, run}]. */
export function showMessage(box, { kind, title, detail, advice, actions = [] }) {
  box.hidden = false;
  box.className = `message ${kind}`;
  box.setAttribute("role", kind === "error" ? "alert" : "status");
  const h = document.createElement("p");
  h.className = "message-title";
  h.textContent = title;
  const parts = [h];
  if (detail) {
    const d = document.createElement("p");
    d.className = "message-detail";
    d.textContent = detail;
    parts.push(d);
  }
  if (advice) {
    const a = document.createElement("p");
    a.textContent = advice;
    parts.push(a);
  }
  if (actions.length) {
    const row = document.createElement("p");
    row.className = "actions";
    for (const { label, run } of actions) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "btn ghost small";
      b.textContent = label;
      b.addEventListener("click", run);
      row.append(b);
    }
    parts.push(row);
  }
  box.replaceChildren(...parts);
}

export function hideMessage(box) {
  box.hidden = true;
  box.replaceChildren();
}
