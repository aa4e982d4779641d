// The side panel: Tables (catalog), Library (hunts and detections with their parameters)
// and History (every execution, searchable).
import { api } from "./api.js";
import { el, $, clear, formatBytes, formatMs, formatInt, formatTime } from "./util.js";
import { insertAtCursor, newTab, setSchema } from "./editor.js";

let hooks = { runSql: () => {}, runLibrary: () => {} };
let libraryQueries = [];
let selectedQuery = null;

export function initSidebar(h) {
  hooks = h;
  for (const name of ["tables", "library", "history"]) $(`tab-${name}`).addEventListener("click", () => showPanel(name));
  let timer = 0;
  $("history-search").addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(loadHistory, 200);
  });
}

export function showPanel(name) {
  for (const n of ["tables", "library", "history"]) {
    $(`tab-${n}`).setAttribute("aria-selected", String(n === name));
    $(`panel-${n}`).hidden = n !== name;
  }
  if (name === "history") loadHistory();
}

/* ---------- Tables ---------- */

const quoteIdent = (name) => (/^[a-z_][a-z0-9_]*$/i.test(name) ? name : `"${name.replace(/"/g, '""')}"`);

export async function loadCatalog() {
  const panel = $("panel-tables");
  let data;
  try {
    data = await api.catalog();
  } catch (e) {
    clear(panel).append(el("p", { class: "error-text" }, `Could not load the catalog: ${e.message}`));
    return;
  }
  const tables = data.tables || [];
  clear(panel);
  if (!tables.length) panel.append(el("p", { class: "muted" }, "No tables in this workspace."));
  for (const t of tables) panel.append(tableNode(t));
  // Completion: tables and their columns (lang-sql), struct fields after a dot (editor.js).
  const schema = {};
  const fields = new Map();
  for (const t of tables) {
    const cols = [...(t.columns || []), ...(t.partitions || [])];
    schema[t.name] = { self: { label: t.name, type: t.kind === "view" ? "type" : "class", detail: t.kind }, children: cols.map((c) => ({ label: c.name, type: "property", detail: c.type })) };
    for (const c of cols) if (c.fields && c.fields.length && !fields.has(c.name.toLowerCase())) fields.set(c.name.toLowerCase(), c.fields);
  }
  const def = tables.find((t) => t.name === "cloudtrail_logs") || tables[0];
  setSchema(schema, def ? def.name : undefined, fields);
}

function tableNode(t) {
  const cols = el("ul", { class: "columns", hidden: true });
  const ddl = el("pre", { class: "ddl", hidden: true }, t.ddl || "(no DDL)");
  const toggle = el("button", { type: "button", class: "toggle", "aria-expanded": "false", title: "Show columns" }, "▸");
  toggle.addEventListener("click", () => {
    cols.hidden = !cols.hidden;
    toggle.textContent = cols.hidden ? "▸" : "▾";
    toggle.setAttribute("aria-expanded", String(!cols.hidden));
  });
  for (const c of t.columns || []) cols.append(columnNode(c, [c.name], false));
  for (const c of t.partitions || []) cols.append(columnNode(c, [c.name], true));
  return el(
    "div",
    { class: "table", dataset: { table: t.name } },
    el(
      "div",
      { class: "table-row" },
      toggle,
      el("button", { type: "button", class: "name insert", title: "Insert at cursor", onclick: () => insertAtCursor(quoteIdent(t.name)) }, t.name),
      t.kind === "view" ? el("span", { class: "badge" }, "view") : null,
      el("button", { type: "button", class: "ddl-toggle small", onclick: () => (ddl.hidden = !ddl.hidden) }, "DDL"),
    ),
    ddl,
    cols,
  );
}

function columnNode(c, path, partition) {
  const li = el("li", { class: "column", dataset: { column: path.join(".") } });
  const sub = c.fields && c.fields.length ? el("ul", { class: "fields", hidden: true }) : null;
  const toggle = sub ? el("button", { type: "button", class: "toggle", "aria-expanded": "false" }, "▸") : el("span", { class: "toggle-space" });
  if (sub) {
    toggle.addEventListener("click", () => {
      sub.hidden = !sub.hidden;
      toggle.textContent = sub.hidden ? "▸" : "▾";
      toggle.setAttribute("aria-expanded", String(!sub.hidden));
    });
    for (const f of c.fields) sub.append(columnNode(f, [...path, f.name], false));
  }
  li.append(
    el(
      "div",
      { class: "column-row" },
      toggle,
      el("button", { type: "button", class: "name insert", title: "Insert at cursor", onclick: () => insertAtCursor(path.map(quoteIdent).join(".")) }, c.name),
      partition ? el("span", { class: "badge partition", title: "partition key" }, "partition") : null,
      el("span", { class: "type", title: c.type }, c.type),
    ),
    sub,
  );
  return li;
}

/* ---------- Library ---------- */

export async function loadLibrary() {
  const list = $("library-list");
  try {
    libraryQueries = (await api.library()).queries || [];
  } catch (e) {
    clear(list).append(el("p", { class: "error-text" }, `Could not load the library: ${e.message}`));
    return [];
  }
  clear(list);
  if (!libraryQueries.length) list.append(el("p", { class: "muted" }, "The library is empty."));
  const kinds = [...new Set(libraryQueries.map((q) => q.kind || "other"))].sort((a, b) => order(a) - order(b));
  for (const kind of kinds) {
    list.append(el("h3", { class: "group" }, kind === "hunt" ? "Hunts" : kind === "detection" ? "Detections" : kind));
    const ul = el("ul", { class: "library" });
    for (const q of libraryQueries.filter((x) => (x.kind || "other") === kind)) {
      ul.append(
        el(
          "li",
          { class: "library-query", dataset: { id: q.id }, tabindex: "0", title: q.description || "", onclick: () => selectQuery(q.id), onkeydown: (e) => e.key === "Enter" && selectQuery(q.id) },
          el("span", { class: "title" }, q.title || q.id),
          q.severity ? el("span", { class: `badge sev sev-${String(q.severity).toLowerCase().replace(/[^a-z]/g, "")}` }, q.severity) : null,
          (q.tags || []).length ? el("span", { class: "tags" }, (q.tags || []).map((t) => el("span", { class: "tag" }, t))) : null,
        ),
      );
    }
    list.append(ul);
  }
  if (selectedQuery) selectQuery(selectedQuery.id);
  return libraryQueries;
}

const order = (k) => ({ hunt: 0, detection: 1 })[k] ?? 2;

/** Selects a library query and shows its form; `values` fills the parameters (from a URL). */
export function selectQuery(id, values) {
  const q = libraryQueries.find((x) => x.id === id);
  const form = $("library-form");
  for (const li of document.querySelectorAll(".library-query")) li.classList.toggle("selected", li.dataset.id === id);
  if (!q) {
    selectedQuery = null;
    form.hidden = true;
    return null;
  }
  selectedQuery = q;
  const inputs = (q.params || []).map((p) => {
    const input = el("input", { name: p.name, id: `param-${p.name}`, type: p.type === "int" ? "number" : "text", placeholder: p.type === "duration" ? "e.g. 7d, 24h" : p.type });
    input.value = values && values[p.name] != null ? values[p.name] : p.default ?? "";
    return el("label", { class: "param" }, el("span", null, p.name), input);
  });
  const f = el(
    "form",
    { class: "params", onsubmit: (e) => (e.preventDefault(), run()) },
    inputs,
    el(
      "div",
      { class: "buttons" },
      el("button", { type: "submit", id: "library-run", class: "primary" }, "Run"),
      el("button", { type: "button", id: "library-open", disabled: !q.sql, title: q.sql ? "Open the SQL in a new tab" : "The server did not send this query's SQL", onclick: () => q.sql && newTab(q.sql, q.title || q.id) }, "Open in editor"),
    ),
  );
  const run = () => {
    const params = {};
    for (const p of q.params || []) {
      const v = f.elements[p.name].value.trim();
      if (v !== "") params[p.name] = v;
    }
    hooks.runLibrary(q, params);
  };
  clear(form).append(el("h3", null, q.title || q.id), q.description ? el("p", { class: "description" }, q.description) : null, f);
  form.hidden = false;
  return { q, run };
}

/* ---------- History ---------- */

let historySeq = 0;
export async function loadHistory() {
  const mine = ++historySeq;
  const list = $("history-list");
  let data;
  try {
    data = await api.history($("history-search").value.trim());
  } catch (e) {
    if (mine === historySeq) clear(list).append(el("li", { class: "error-text" }, `Could not load history: ${e.message}`));
    return;
  }
  if (mine !== historySeq) return;
  clear(list);
  const items = data.executions || [];
  if (!items.length) list.append(el("li", { class: "muted" }, "Nothing yet."));
  for (const x of items) {
    const sqlText = String(x.sql || "");
    list.append(
      el(
        "li",
        { class: "history-item", dataset: { id: x.id }, title: "Click to open in a new tab" },
        el(
          "div",
          { class: "history-head", onclick: () => newTab(sqlText) },
          el("span", { class: `badge state state-${String(x.state || "").toLowerCase().replace(/[^a-z]/g, "")}` }, x.state),
          el("span", { class: "when" }, formatTime(x.submitted)),
          x.source ? el("span", { class: "source" }, x.source) : null,
        ),
        el("div", { class: "history-sql", onclick: () => newTab(sqlText) }, sqlText.length > 300 ? sqlText.slice(0, 300) + "…" : sqlText),
        el(
          "div",
          { class: "history-meta" },
          `${formatMs(x.elapsed_ms)} · ${formatBytes(x.scanned_bytes)} · ${x.rows == null ? "–" : formatInt(x.rows)} rows`,
          el("button", { type: "button", class: "small rerun", onclick: () => (newTab(sqlText), hooks.runSql({ text: sqlText.trim().replace(/;\s*$/, ""), from: 0 })) }, "Re-run"),
        ),
      ),
    );
  }
}
