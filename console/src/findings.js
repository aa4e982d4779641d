// The findings page (/findings?since=24h): runs the detections over a window and shows the
// findings grouped by severity and detection, each linking to its evidence in the editor,
// and the report's overview charts.
import { Chart } from "chart.js";
import { el, $, clear } from "./util.js";
import { apiGet } from "./api.js";

const SEVERITIES = ["critical", "high", "medium", "low", "info", "informational"];
const sevRank = (s) => {
  const i = SEVERITIES.indexOf(String(s || "").toLowerCase());
  return i < 0 ? SEVERITIES.length : i;
};
const sevClass = (s) => `badge sev sev-${String(s || "").toLowerCase().replace(/[^a-z]/g, "")}`;
let charts = [];

export function initFindings() {
  document.querySelector(".layout").hidden = true;
  $("findings-page").hidden = false;
  document.title = "trailsql findings";
  const params = new URLSearchParams(location.search);
  if (params.get("since")) $("findings-since").value = params.get("since");
  if (params.get("until")) $("findings-until").value = params.get("until");
  $("findings-form").addEventListener("submit", (e) => {
    e.preventDefault();
    load();
  });
  load();
}

async function load() {
  const since = $("findings-since").value.trim() || "24h";
  const until = $("findings-until").value.trim();
  const qs = new URLSearchParams(until ? { since, until } : { since }).toString();
  history.replaceState(null, "", `/findings?${qs}`);
  $("findings-status").textContent = "running the detections…";
  $("findings-run").disabled = true;
  $("findings-error").hidden = true;
  let data;
  try {
    data = await apiGet(`findings?${qs}`);
  } catch (e) {
    $("findings-error").textContent = e.message;
    $("findings-error").hidden = false;
    $("findings-status").textContent = "";
    return;
  } finally {
    $("findings-run").disabled = false;
  }
  const found = data.findings || [];
  const w = data.window || {};
  $("findings-status").textContent = `${found.length} finding${found.length === 1 ? "" : "s"} from ${w.start || "?"} to ${w.end || "?"}`;
  renderList(found);
  renderOverview(data.overview || {});
}

function renderList(found) {
  const list = clear($("findings-list"));
  if (!found.length) list.append(el("p", { class: "muted" }, "No findings in this window."));
  const bySev = new Map();
  for (const f of [...found].sort((a, b) => sevRank(a.severity) - sevRank(b.severity))) {
    const sev = String(f.severity || "unknown");
    if (!bySev.has(sev)) bySev.set(sev, new Map());
    const byDet = bySev.get(sev);
    const key = String(f.detection || f.title || "");
    if (!byDet.has(key)) byDet.set(key, []);
    byDet.get(key).push(f);
  }
  for (const [sev, byDet] of bySev) {
    const n = [...byDet.values()].reduce((a, b) => a + b.length, 0);
    list.append(el("h2", { class: "severity-group", dataset: { severity: sev.toLowerCase() } }, el("span", { class: sevClass(sev) }, sev), ` ${n} finding${n === 1 ? "" : "s"}`));
    for (const [det, items] of byDet) {
      list.append(el("h3", null, items[0].title || det, el("span", { class: "muted" }, ` (${det})`)));
      for (const f of items) list.append(finding(f));
    }
  }
}

function finding(f) {
  const link = f.evidence_sql ? el("a", { class: "evidence", href: `/?${new URLSearchParams({ sql: f.evidence_sql, run: "1" })}` }, "Open the evidence in the editor") : null;
  return el(
    "div",
    { class: "finding", dataset: { detection: String(f.detection || "") } },
    el("p", { class: "summary" }, f.summary || ""),
    el(
      "div",
      { class: "meta" },
      el("span", null, `first seen ${f.first_seen ?? "–"}`),
      el("span", null, `last seen ${f.last_seen ?? "–"}`),
      f.count != null ? el("span", null, `${f.count} event${f.count === 1 ? "" : "s"}`) : null,
      link,
    ),
  );
}

const TITLES = { events_per_hour: "Events per hour", top_principals: "Top principals", errors_by_code: "Errors by code", findings_timeline: "Timeline of findings" };

function renderOverview(overview) {
  for (const c of charts) c.destroy();
  charts = [];
  const box = clear($("findings-overview"));
  const names = Object.keys(overview);
  if (!names.length) box.append(el("p", { class: "muted" }, "No overview for this window."));
  for (const name of names) {
    const rows = (overview[name] || []).filter((r) => Array.isArray(r) && r.length >= 2);
    const canvas = el("canvas", { role: "img", "aria-label": TITLES[name] || name });
    box.append(el("figure", { dataset: { chart: name } }, el("figcaption", null, TITLES[name] || name.replace(/_/g, " ")), el("div", { class: "chart-box" }, canvas)));
    if (!rows.length) {
      canvas.replaceWith(el("p", { class: "muted" }, "nothing in this window"));
      continue;
    }
    const timeLike = rows.every((r) => /^\d{4}-\d{2}-\d{2}/.test(String(r[0])));
    charts.push(
      new Chart(canvas, {
        type: timeLike ? "line" : "bar",
        data: { labels: rows.map((r) => String(r[0])), datasets: [{ label: TITLES[name] || name, data: rows.map((r) => Number(r[1])), backgroundColor: "#4c78a8", borderColor: "#4c78a8", pointRadius: rows.length > 60 ? 0 : 2 }] },
        options: { animation: false, maintainAspectRatio: false, indexAxis: timeLike ? "x" : "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true }, y: { beginAtZero: true } } },
      }),
    );
  }
}
