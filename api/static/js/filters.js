// Filter panel: checkbox lists with disjunctive counts from /search/facets, and the price range.

import { t, valueLabel } from "./i18n.js";
import { priceControl } from "./price.js";
import { LISTS } from "./state.js";

const SHOWN = 8; // values shown before "show all"
const SWATCH = {
  black: "#1b1b1b", white: "#fff", "off white": "#f5f0e1", grey: "#8a8a8a", silver: "#c0c0c8", brown: "#78482a",
  tan: "#d2a06e", beige: "#dec8a0", cream: "#fff8dc", blue: "#2a5ac8", "navy blue": "#141e5a", teal: "#138a8a",
  green: "#288c3c", olive: "#6b6b23", red: "#c81e28", maroon: "#7a1526", pink: "#f082aa", purple: "#783296",
  orange: "#f08228", yellow: "#f0d228", gold: "#d4af37", bronze: "#b08d57",
  multi: "conic-gradient(red, yellow, lime, aqua, blue, magenta, red)",
};

function checkboxList(kind, counts, selected, display, onChange) {
  const fs = document.createElement("fieldset");
  fs.className = `facet facet-${kind}`;
  fs.id = `facet-${kind}`;
  const legend = document.createElement("legend");
  legend.textContent = t(kind);
  fs.append(legend);
  // Selected values stay listed even when the other filters leave them no shoes.
  const values = Object.entries(counts);
  for (const v of selected) if (!(v in counts)) values.push([v, 0]);
  values.sort((a, b) => selected.includes(b[0]) - selected.includes(a[0]) || b[1] - a[1] || a[0].localeCompare(b[0]));

  const ul = document.createElement("ul");
  values.forEach(([value, count], i) => {
    const li = document.createElement("li");
    if (i >= SHOWN && !selected.includes(value)) li.className = "extra";
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.name = kind;
    box.value = value;
    box.checked = selected.includes(value);
    box.addEventListener("change", () => {
      const next = [...fs.querySelectorAll(`input[name="${kind}"]:checked`)].map((b) => b.value);
      onChange(kind, next);
    });
    label.append(box);
    if (kind === "colour") {
      const sw = document.createElement("span");
      sw.className = "swatch";
      sw.style.background = SWATCH[value] || "#ddd";
      sw.setAttribute("aria-hidden", "true");
      label.append(sw);
    }
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = valueLabel(kind, value, display);
    const n = document.createElement("span");
    n.className = "count";
    n.textContent = count;
    label.append(name, n);
    li.append(label);
    ul.append(li);
  });
  fs.append(ul);
  const extra = ul.querySelectorAll(".extra").length;
  if (extra) {
    const more = document.createElement("button");
    more.type = "button";
    more.className = "link";
    more.setAttribute("aria-expanded", "false");
    const label = () => (fs.classList.contains("open") ? "−" : `+ ${extra}`);
    more.textContent = label();
    more.setAttribute("aria-label", `${t(kind)}: ${extra}`);
    more.addEventListener("click", () => {
      fs.classList.toggle("open");
      more.setAttribute("aria-expanded", String(fs.classList.contains("open")));
      more.textContent = label();
    });
    fs.append(more);
  }
  return fs;
}

/** Render every facet into `root`. `display` maps lower-case brand keys to their catalogue spelling. */
export function renderFacets(root, facets, state, display, { onList, onPrice }) {
  // Keep keyboard focus on the control the shopper was using when the panel is redrawn.
  const active = document.activeElement;
  const focusKey = root.contains(active) ? active.id || `${active.name}=${active.value}` : null;
  const parts = [];
  for (const kind of ["brand", "category", "gender", "colour"]) {
    const counts = facets[kind] || {};
    if (Object.keys(counts).length || state[kind].length) parts.push(checkboxList(kind, counts, state[kind], display, onList));
    if (kind === "brand") parts.push(priceControl(facets, state, onPrice));
  }
  root.replaceChildren(...parts);
  if (focusKey) {
    const [name, value] = focusKey.split("=");
    const target = document.getElementById(focusKey) || root.querySelector(`input[name="${CSS.escape(name)}"][value="${CSS.escape(value || "")}"]`);
    target?.focus();
  }
}

export const activeFilterCount = (s) => LISTS.reduce((n, k) => n + s[k].length, 0) + (s.price_min != null) + (s.price_max != null);
