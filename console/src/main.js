// trailsql console: wires the editor, the runner, the results and the side panel together.
import { api } from "./api.js";
import { $, el, clear, flash, formatBytes, formatInt, formatMs } from "./util.js";
import { initEditor, currentStatement, currentSql, showDiagnostic, clearDiagnostics, newTab } from "./editor.js";
import { initGrid, showExecution, resetGrid, currentPage } from "./grid.js";
import { renderChart } from "./chart.js";
import { initFindings } from "./findings.js";
import { initSidebar, loadCatalog, loadLibrary, selectQuery, showPanel, loadHistory } from "./sidebar.js";

let running = null; // {id, started, timer, stmt}
let view = "grid";

function start() {
  initEditor(() => runSql());
  initGrid((page) => view === "chart" && renderChart(page));
  initSidebar({ runSql, runLibrary });
  $("run").addEventListener("click", () => runSql());
  $("cancel").addEventListener("click", cancel);
  $("save-query").addEventListener("click", saveQuery);
  $("tab-grid").addEventListener("click", () => showView("grid"));
  $("tab-chart").addEventListener("click", () => showView("chart"));
  resetGrid("");
  loadCatalog();
  const library = loadLibrary();
  if (location.pathname === "/findings") initFindings();
  if (location.pathname === "/history") showPanel("history");
  openFromUrl(library);
}

function showView(name) {
  view = name;
  $("tab-grid").setAttribute("aria-selected", String(name === "grid"));
  $("tab-chart").setAttribute("aria-selected", String(name === "chart"));
  $("grid-wrap").hidden = name !== "grid";
  $("chart").hidden = name !== "chart";
  if (name === "chart") renderChart(currentPage());
}

/* ---------- URLs ---------- */

async function openFromUrl(libraryLoaded) {
  const params = new URLSearchParams(location.search);
  const m = /^\/queries\/([^/]+)\/?$/.exec(location.pathname);
  if (m) {
    const id = decodeURIComponent(m[1]);
    await libraryLoaded;
    showPanel("library");
    const values = Object.fromEntries([...params].filter(([k]) => k !== "token"));
    const picked = selectQuery(id, values);
    if (picked) picked.run();
    else showError(`No library query with id ${id}`);
    return;
  }
  const sql = params.get("sql");
  if (sql != null) {
    newTab(sql);
    if (params.get("run") === "1") {
      const text = sql.trim().replace(/;\s*$/, "");
      runSql({ text, from: sql.indexOf(text.charAt(0)) });
    }
  }
}

function setUrl(path, params) {
  const qs = new URLSearchParams(params).toString();
  history.replaceState(null, "", qs ? `${path}?${qs}` : path);
}

/* ---------- Running ---------- */

async function runSql(stmt) {
  stmt = stmt || currentStatement();
  if (!stmt || !stmt.text.trim()) {
    showError("Nothing to run: the editor is empty");
    return;
  }
  if (running) return;
  begin(stmt);
  setUrl("/", { sql: stmt.text, run: "1" });
  let res;
  try {
    res = await api.submit(stmt.text);
  } catch (e) {
    finish();
    showError(e.message, e.line, e.column, stmt);
    return;
  }
  poll(res.id);
}

async function runLibrary(q, params) {
  if (running) return;
  begin(null);
  setUrl(`/queries/${encodeURIComponent(q.id)}`, params);
  let res;
  try {
    res = await api.runLibrary(q.id, params);
  } catch (e) {
    finish();
    showError(e.message);
    return;
  }
  poll(res.id);
}

function begin(stmt) {
  clearError();
  clearDiagnostics();
  resetGrid("running…");
  setDownloads(null);
  $("stats").textContent = "";
  running = { id: null, started: performance.now(), stmt };
  $("run").disabled = true;
  $("cancel").hidden = false;
  $("cancel").disabled = true;
  $("state").textContent = "SUBMITTING";
  running.timer = setInterval(() => ($("elapsed").textContent = formatMs(performance.now() - running.started)), 100);
  $("elapsed").textContent = "0 ms";
}

function finish() {
  if (!running) return;
  clearInterval(running.timer);
  running = null;
  $("state").textContent = "";
  if ($("page-info").textContent === "running…") resetGrid("");
  $("run").disabled = false;
  $("cancel").hidden = true;
}

async function poll(id) {
  const mine = running;
  mine.id = id;
  $("cancel").disabled = false;
  for (;;) {
    let x;
    try {
      x = await api.execution(id);
    } catch (e) {
      if (running !== mine) return;
      finish();
      showError(e.message);
      return;
    }
    if (running !== mine) return;
    $("state").textContent = x.state;
    if (x.state === "QUEUED" || x.state === "RUNNING") {
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    const stmt = mine.stmt;
    finish();
    $("state").textContent = x.state;
    $("elapsed").textContent = formatMs(x.elapsed_ms);
    showStats(x);
    if (x.state === "SUCCEEDED") {
      setDownloads(x.id);
      await showExecution(x);
    } else if (x.state === "FAILED") {
      resetGrid("");
      const err = x.error || {};
      showError(err.message || x.reason || "Query failed", err.line, err.column, stmt);
    } else {
      resetGrid("");
      showError(x.reason || `Query ${String(x.state).toLowerCase()}`);
    }
    if (!$("panel-history").hidden) loadHistory();
    return;
  }
}

async function cancel() {
  if (!running || !running.id) return;
  $("cancel").disabled = true;
  try {
    await api.cancel(running.id);
  } catch (e) {
    showError(`Cancel failed: ${e.message}`);
  }
}

function showStats(x) {
  const s = x.stats || {};
  const cost = typeof s.athena_cost_usd === "number" ? `$${s.athena_cost_usd.toFixed(4)}` : "–";
  const parts = [
    `time ${formatMs(x.elapsed_ms)}`,
    `${x.rows == null ? "–" : formatInt(x.rows)} rows`,
    `${formatInt(s.files_scanned)} files`,
    `${formatBytes(s.bytes_scanned)} scanned`,
    `${formatInt(s.events_from_lake)} events from the lake`,
    `${formatInt(s.events_from_logs)} from the logs`,
    `Athena would have charged ${cost}`,
  ];
  const stats = clear($("stats"));
  stats.append(parts.join(" · "));
}

function setDownloads(id) {
  for (const fmt of ["csv", "json"]) {
    const a = $(`download-${fmt}`);
    if (id) {
      a.href = api.downloadUrl(id, fmt);
      a.setAttribute("download", `${id}.${fmt}`);
      a.classList.remove("disabled");
    } else {
      a.removeAttribute("href");
      a.classList.add("disabled");
    }
  }
}

/* ---------- Errors ---------- */

function showError(message, line, column, stmt) {
  const box = $("error");
  let where = line ? { line, column } : null;
  // The server counts lines in the statement it got; mark and report them in the editor's terms.
  if (stmt && (line || /^not supported/i.test(message))) where = showDiagnostic(stmt.from, stmt.text, line, column, message);
  box.textContent = where && line ? `line ${where.line}${column ? `, column ${where.column}` : ""}: ${message}` : message;
  box.hidden = false;
}

function clearError() {
  $("error").textContent = "";
  $("error").hidden = true;
}

/* ---------- Library ---------- */

async function saveQuery() {
  const sql = currentSql().trim();
  if (!sql) {
    showError("Nothing to save: the editor is empty");
    return;
  }
  const name = prompt("Save to the workspace library as (name):");
  if (!name || !name.trim()) return;
  const description = "";
  try {
    const res = await api.save(name.trim(), sql, description);
    flash(`Saved to the library as ${res.id || name.trim()}`);
    loadLibrary();
  } catch (e) {
    showError(`Could not save: ${e.message}`);
  }
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
