// Price range: a histogram of the facet buckets, a two-thumb slider and two number inputs.

import { money, t } from "./i18n.js";

function niceStep(span) {
  if (!(span > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(span / 100));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => span / s <= 200) || p * 10;
}

/** Domain of the slider: from the first bucket to the end of the last bucket that has shoes. */
function domain(buckets, s) {
  const filled = buckets.filter((b) => b.count > 0);
  let lo = buckets.length ? buckets[0].min : 0;
  let hi = 0;
  const last = filled.at(-1) || buckets.at(-1);
  if (last) hi = last.max ?? Math.max(last.min * 2, last.min + 1);
  if (s.price_min != null) lo = Math.min(lo, s.price_min);
  if (s.price_max != null) hi = Math.max(hi, s.price_max);
  if (hi <= lo) hi = lo + 1;
  return [lo, hi];
}

const el = (tag, attrs = {}, text) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text != null) e.textContent = text;
  return e;
};

/** Build the price fieldset; onChange(price_min|null, price_max|null) when the shopper commits a range. */
export function priceControl(facets, state, onChange) {
  const currency = facets.currency;
  const buckets = facets.price || [];
  const [lo, hi] = domain(buckets, state);
  const step = niceStep(hi - lo);
  const fs = el("fieldset", { class: "facet price", id: "facet-price" });
  fs.append(el("legend", {}, `${t("price")} (${currency})`));

  const peak = Math.max(1, ...buckets.map((b) => b.count));
  const hist = el("div", { class: "hist", "aria-hidden": "true" });
  for (const b of buckets) {
    if (b.min >= hi) continue;
    const bar = el("span", { title: `${money(b.min, currency)} – ${b.max == null ? "…" : money(b.max, currency)}: ${b.count}` });
    bar.style.height = `${b.count ? 12 + (88 * b.count) / peak : 2}%`;
    hist.append(bar);
  }

  const cur = [state.price_min ?? lo, state.price_max ?? hi];
  const slider = el("div", { class: "slider" });
  const ranges = ["priceMin", "priceMax"].map((label, i) => {
    const r = el("input", { type: "range", min: lo, max: hi, step, "aria-label": t(label), id: `price-range-${i ? "max" : "min"}` });
    r.value = cur[i];
    slider.append(r);
    return r;
  });
  const fill = el("span", { class: "fill", "aria-hidden": "true" });
  slider.prepend(fill);

  const boxes = el("div", { class: "price-inputs" });
  const inputs = [["priceFrom", "price-min"], ["priceTo", "price-max"]].map(([label, id], i) => {
    const wrap = el("label", { for: id });
    wrap.append(el("span", {}, t(label)));
    const inp = el("input", { type: "number", id, min: 0, step, inputmode: "numeric", placeholder: money(i ? hi : lo, currency) });
    if (i === 0 && state.price_min != null) inp.value = state.price_min;
    if (i === 1 && state.price_max != null) inp.value = state.price_max;
    wrap.append(inp);
    boxes.append(wrap);
    return inp;
  });
  const readout = el("p", { class: "price-readout" });

  const paint = () => {
    const a = Number(ranges[0].value);
    const b = Number(ranges[1].value);
    fill.style.left = `${((a - lo) / (hi - lo)) * 100}%`;
    fill.style.right = `${100 - ((b - lo) / (hi - lo)) * 100}%`;
    readout.textContent = `${money(a, currency)} – ${money(b, currency)}${b >= hi && state.price_max == null ? "+" : ""}`;
  };
  const commit = (min, max) => {
    if (min != null && max != null && min > max) [min, max] = [max, min];
    onChange(min != null && min > lo ? min : null, max != null && max < hi ? max : null);
  };
  ranges.forEach((r, i) => {
    r.addEventListener("input", () => {
      // Thumbs never cross.
      if (Number(ranges[0].value) > Number(ranges[1].value)) ranges[i].value = ranges[1 - i].value;
      inputs[i].value = ranges[i].value;
      paint();
    });
    r.addEventListener("change", () => commit(Number(ranges[0].value), Number(ranges[1].value)));
  });
  const fromInputs = () => {
    const v = inputs.map((inp) => (inp.value === "" ? null : Math.max(0, Number(inp.value))));
    commit(v[0], v[1] ?? null);
  };
  for (const inp of inputs) {
    inp.addEventListener("change", fromInputs);
    inp.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); fromInputs(); } });
  }
  paint();
  fs.append(hist, slider, readout, boxes);
  return fs;
}
