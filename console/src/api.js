// The server's JSON API under /console/api/ (same origin, cookie auth, CSRF header on POST).

export class ApiError extends Error {
  constructor(status, body) {
    const err = body && body.error;
    super((err && err.message) || (typeof body === "string" && body) || `HTTP ${status}`);
    this.status = status;
    this.line = err ? err.line : null;
    this.column = err ? err.column : null;
  }
}

export function csrfToken() {
  for (const part of document.cookie.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === "trailsql_csrf") return decodeURIComponent(v.join("="));
  }
  return "";
}

async function request(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (method !== "GET") {
    init.headers["X-CSRF-Token"] = csrfToken();
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body || {});
  }
  const res = await fetch(`/console/api/${path}`, init);
  const text = await res.text();
  let data = text;
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    /* not JSON: keep the text for the message */
  }
  if (!res.ok) {
    if (res.status === 401 || res.status === 403) {
      const e = new ApiError(res.status, data);
      if (!(data && data.error)) e.message = "Not signed in: open the URL with ?token=… that trailsql serve printed";
      throw e;
    }
    throw new ApiError(res.status, data);
  }
  return data;
}

const q = (params) => new URLSearchParams(Object.entries(params).filter(([, v]) => v != null && v !== "")).toString();
const id = encodeURIComponent;

/** A GET of any console API path (for pages whose calls are not listed below). */
export const apiGet = (path) => request("GET", path);

export const api = {
  catalog: () => request("GET", "catalog"),
  submit: (sql) => request("POST", "executions", { sql }),
  execution: (eid) => request("GET", `executions/${id(eid)}`),
  rows: (eid, params) => request("GET", `executions/${id(eid)}/rows?${q(params)}`),
  cancel: (eid) => request("POST", `executions/${id(eid)}/cancel`),
  downloadUrl: (eid, format) => `/console/api/executions/${id(eid)}/download?format=${format}`,
  history: (text) => request("GET", `history?${q({ q: text })}`),
  library: () => request("GET", "library"),
  save: (name, sql, description) => request("POST", "library", { name, sql, description }),
  runLibrary: (qid, params) => request("POST", `library/${id(qid)}/run`, { params }),
};
