// Search state lives in the URL's query string (shareable, reloadable); the view in its hash.

export const LISTS = ["brand", "category", "gender", "colour"];
const NUMBERS = ["price_min", "price_max"];

export function emptyState() {
  return { q: "", brand: [], category: [], gender: [], colour: [], price_min: null, price_max: null, ignore: [], similar: null };
}

const splitList = (values) => [...new Set(values.flatMap((v) => v.split(",")).map((v) => v.trim().toLowerCase()).filter(Boolean))];

export function readState(search = location.search) {
  const p = new URLSearchParams(search);
  const s = emptyState();
  s.q = (p.get("q") || "").trim();
  for (const k of LISTS) s[k] = splitList(p.getAll(k));
  for (const k of NUMBERS) {
    const v = Number.parseFloat(p.get(k));
    s[k] = Number.isFinite(v) && v >= 0 ? v : null;
  }
  s.ignore = splitList(p.getAll("ignore"));
  const sim = Number.parseInt(p.get("similar"), 10);
  s.similar = Number.isFinite(sim) ? sim : null;
  return s;
}

/** The explicit filters as API params (lists repeat). */
export function filterParams(s) {
  const out = {};
  for (const k of LISTS) if (s[k].length) out[k] = s[k];
  for (const k of NUMBERS) if (s[k] != null) out[k] = s[k];
  return out;
}

export function hasFilters(s) {
  return LISTS.some((k) => s[k].length) || NUMBERS.some((k) => s[k] != null);
}

export function toSearch(s) {
  const p = new URLSearchParams();
  if (s.q) p.set("q", s.q);
  for (const k of LISTS) for (const v of s[k]) p.append(k, v);
  for (const k of NUMBERS) if (s[k] != null) p.set(k, String(s[k]));
  for (const k of s.ignore) p.append("ignore", k);
  if (s.similar != null) p.set("similar", String(s.similar));
  const str = p.toString();
  return str ? `?${str}` : "";
}

/** "#/jobs/3" → {name: "jobs", id: 3}; "#/product/12" → {name: "product", id: 12}; else search. */
export function readView(hash = location.hash) {
  const m = hash.match(/^#\/(jobs|product)(?:\/(\d+))?/);
  if (!m) return { name: "search" };
  if (m[1] === "product" && m[2]) return { name: "product", id: Number(m[2]) };
  if (m[1] === "jobs") return { name: "jobs", id: m[2] ? Number(m[2]) : null };
  return { name: "search" };
}
