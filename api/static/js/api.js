// The JSON API: one fetch wrapper, errors carry the server's `detail` message.

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail || `HTTP ${status}`);
    this.status = status; // 0: the server could not be reached
    this.detail = detail;
  }
}

/** Query string from an object; arrays become repeated params, empty values are left out. */
export function query(params = {}) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    for (const item of Array.isArray(v) ? v : [v]) {
      if (item !== undefined && item !== null && item !== "") qs.append(k, String(item));
    }
  }
  const s = qs.toString();
  return s ? `?${s}` : "";
}

function detailText(detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    // FastAPI validation errors: [{loc: [...], msg}]
    return detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
  }
  return detail ? JSON.stringify(detail) : "";
}

export async function request(method, path, { params, json, form, headers = {}, signal } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers }, signal };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  } else if (form) {
    init.body = form;
  }
  let res;
  try {
    res = await fetch(path + query(params), init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, err.message);
  }
  let body = null;
  try { body = await res.json(); } catch { body = null; }
  if (!res.ok) throw new ApiError(res.status, detailText(body?.detail) || res.statusText);
  return body;
}

export const get = (path, params, opts = {}) => request("GET", path, { ...opts, params });
