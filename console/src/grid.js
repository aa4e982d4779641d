// The results grid: one server page (200 rows) at a time, server-side sort, compact nested
// values with a click to expand, copy a cell (select it, Ctrl/Cmd-C) or a row (as JSON).
import { api } from "./api.js";
import { el, $, clear, flash } from "./util.js";

export const PAGE = 200;
let exec = null; // the execution being shown
let page = null; // {columns, rows, offset, total}
let sort = null; // {column, order}
let seq = 0;
let selected = null; // {td, value}
let onPage = () => {};

export function initGrid(pageHandler) {
  onPage = pageHandler;
  $("prev").addEventListener("click", () => page && load(Math.max(0, page.offset - PAGE)));
  $("next").addEventListener("click", () => page && load(page.offset + PAGE));
  document.addEventListener("copy", (e) => {
    // Only when the selected cell has the focus (not the editor, not a text selection elsewhere).
    if (!selected || document.activeElement !== selected.td) return;
    const sel = window.getSelection();
    if (sel && !sel.isCollapsed && String(sel)) return; // the user selected text: let the browser copy it
    e.clipboardData.setData("text/plain", cellText(selected.value));
    e.preventDefault();
    flash("Cell copied");
  });
}

/** Shows a finished execution: its first page. */
export function showExecution(execution) {
  exec = execution;
  sort = null;
  return load(0);
}

export function resetGrid(text) {
  exec = null;
  page = null;
  seq++;
  clear($("grid").tHead).append();
  clear($("grid").tBodies[0]);
  $("page-info").textContent = text || "";
  $("prev").disabled = $("next").disabled = true;
}

async function load(offset) {
  if (!exec) return;
  const mine = ++seq;
  const params = { offset, limit: PAGE };
  if (sort) Object.assign(params, { sort: sort.column, order: sort.order });
  $("page-info").textContent = "loading…";
  let data;
  try {
    data = await api.rows(exec.id, params);
  } catch (e) {
    if (mine === seq) $("page-info").textContent = `could not load rows: ${e.message}`;
    return;
  }
  if (mine !== seq) return;
  page = { columns: data.columns || exec.columns || [], rows: data.rows || [], offset: data.offset || 0, total: data.total ?? (data.rows || []).length };
  render();
  onPage(page, exec);
}

export const currentPage = () => page;

function render() {
  const table = $("grid");
  const { columns, rows, offset, total } = page;
  const head = el(
    "tr",
    null,
    el("th", { class: "rownum", scope: "col" }, "#"),
    columns.map((c) => {
      const sorted = sort && sort.column === c.name ? sort.order : null;
      return el(
        "th",
        { scope: "col", dataset: { column: c.name }, "aria-sort": sorted ? (sorted === "asc" ? "ascending" : "descending") : "none", title: `${c.type} (click to sort)`, onclick: () => toggleSort(c.name) },
        el("span", { class: "col-name" }, c.name),
        el("span", { class: "col-type" }, c.type),
        sorted ? el("span", { class: "sort-mark" }, sorted === "asc" ? "▲" : "▼") : null,
      );
    }),
  );
  clear(table.tHead).append(head);
  const body = document.createElement("tbody");
  rows.forEach((row, i) => {
    const tr = el(
      "tr",
      null,
      el("th", { class: "rownum", scope: "row" }, String(offset + i + 1), el("button", { type: "button", class: "copy-row", title: "Copy row as JSON", "aria-label": "Copy row", onclick: () => copyRow(columns, row) })),
    );
    columns.forEach((c, j) => tr.append(cell(row[j])));
    body.append(tr);
  });
  table.replaceChild(body, table.tBodies[0]);
  const first = rows.length ? offset + 1 : 0;
  $("page-info").textContent = total ? `rows ${first}-${offset + rows.length} of ${total}` : "0 rows";
  $("prev").disabled = offset <= 0;
  $("next").disabled = offset + rows.length >= total;
}

function toggleSort(column) {
  sort = sort && sort.column === column ? { column, order: sort.order === "asc" ? "desc" : "asc" } : { column, order: "asc" };
  load(0);
}

/** A nested value (object, array, or a string that parses as a JSON object/array), else undefined. */
function nested(value) {
  if (value && typeof value === "object") return value;
  if (typeof value === "string" && /^\s*[[{]/.test(value)) {
    try {
      const v = JSON.parse(value);
      if (v && typeof v === "object") return v;
    } catch {
      /* plain text */
    }
  }
  return undefined;
}

export function cellText(value) {
  if (value == null) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function cell(value) {
  const td = el("td", { tabindex: "-1" });
  td.addEventListener("click", (e) => {
    if (e.target.closest("button, pre")) return;
    if (selected) selected.td.classList.remove("selected");
    selected = { td, value };
    td.classList.add("selected");
    td.focus({ preventScroll: true });
  });
  if (value === null || value === undefined) {
    td.className = "null"; // shows NULL from CSS: the cell's text stays empty, as in the CSV
    return td;
  }
  if (typeof value === "number" || typeof value === "boolean") td.className = "num";
  const obj = nested(value);
  if (obj === undefined) {
    td.textContent = String(value);
    if (td.textContent.length > 60) td.title = td.textContent;
    return td;
  }
  const compact = JSON.stringify(obj);
  td.classList.add("nested");
  const short = el("span", { class: "compact" }, compact.length > 200 ? compact.slice(0, 199) + "…" : compact);
  // The button's label comes from CSS (::before), so a cell's textContent is its value only.
  const btn = el("button", { type: "button", class: "cell-expand", title: "Expand", "aria-label": "Expand", "aria-expanded": "false" });
  let pre = null;
  btn.addEventListener("click", () => {
    if (pre) {
      pre.remove();
      pre = null;
      btn.setAttribute("aria-expanded", "false");
      short.hidden = false;
      td.classList.remove("open");
    } else {
      pre = el("pre", { class: "expanded" }, JSON.stringify(obj, null, 2));
      td.append(pre);
      btn.setAttribute("aria-expanded", "true");
      short.hidden = true;
      td.classList.add("open");
    }
  });
  td.append(btn, short);
  return td;
}

async function copyRow(columns, row) {
  const obj = {};
  columns.forEach((c, j) => (obj[c.name] = row[j]));
  await copyText(JSON.stringify(obj));
  flash("Row copied as JSON");
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const ta = el("textarea", { class: "offscreen", readonly: true });
    ta.value = text;
    document.body.append(ta);
    ta.select();
    document.execCommand("copy");
    ta.remove();
  }
}
