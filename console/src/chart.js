// The chart tab: a line chart for (time, number), a bar chart for (category, number) with at
// most 50 rows, from the first page of the result. Chart.js tree-shaken to bar and line.
import { Chart, BarController, BarElement, LineController, LineElement, PointElement, CategoryScale, LinearScale, Tooltip, Legend } from "chart.js";
import { el, $, clear } from "./util.js";

Chart.register(BarController, BarElement, LineController, LineElement, PointElement, CategoryScale, LinearScale, Tooltip, Legend);

let chart = null;
const ISO = /^\d{4}-\d{2}-\d{2}([ T]\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?)?(Z|[+-]\d{2}:?\d{2})?( UTC)?$/;
const isNumericType = (t) => /^(tinyint|smallint|integer|int|bigint|real|double|float|decimal)/i.test(t || "");
const isTimeType = (t) => /^(timestamp|date)/i.test(t || "");
const isStringType = (t) => /^(varchar|char|string)/i.test(t || "");

/** Decides which chart fits: {kind, x, y} or {kind: null, why}. */
export function chooseChart(columns, rows, total) {
  const idx = (pred) => columns.findIndex((c, j) => pred(c, j));
  const values = (j) => rows.map((r) => r[j]).filter((v) => v != null);
  const isTime = (c, j) => isTimeType(c.type) || (isStringType(c.type) && values(j).length > 0 && values(j).every((v) => typeof v === "string" && ISO.test(v)));
  const isNum = (c, j) => isNumericType(c.type) || (values(j).length > 0 && values(j).every((v) => typeof v === "number"));
  const y = idx(isNum);
  if (y < 0 || !rows.length) return { kind: null };
  const t = idx((c, j) => j !== y && isTime(c, j));
  if (t >= 0) return { kind: "line", x: t, y };
  const s = idx((c, j) => j !== y && isStringType(c.type) && !isTime(c, j));
  if (s >= 0 && total <= 50) return { kind: "bar", x: s, y };
  return { kind: null };
}

export function renderChart(page) {
  const box = clear($("chart"));
  if (chart) {
    chart.destroy();
    chart = null;
  }
  if (!page) {
    box.append(el("p", { class: "muted" }, "Run a query to chart its result."));
    return;
  }
  const { columns, rows, total } = page;
  const pick = chooseChart(columns, rows, total);
  if (!pick.kind) {
    box.append(el("p", { class: "muted no-chart" }, "no chart for this result"));
    return;
  }
  let points = rows.map((r) => [r[pick.x], r[pick.y]]).filter(([x, y]) => x != null && y != null);
  if (pick.kind === "line") points = points.sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : String(a[0]) > String(b[0]) ? 1 : 0));
  const canvas = el("canvas", { "aria-label": `${pick.kind} chart of ${columns[pick.y].name} by ${columns[pick.x].name}`, role: "img" });
  box.append(el("div", { class: "chart-box", dataset: { kind: pick.kind } }, canvas));
  chart = new Chart(canvas, {
    type: pick.kind,
    data: {
      labels: points.map((p) => String(p[0])),
      datasets: [{ label: columns[pick.y].name, data: points.map((p) => Number(p[1])), backgroundColor: "#4c78a8", borderColor: "#4c78a8", pointRadius: points.length > 60 ? 0 : 2, tension: 0 }],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      responsive: true,
      scales: { x: { title: { display: true, text: columns[pick.x].name } }, y: { beginAtZero: true } },
      plugins: { legend: { display: false } },
    },
  });
}
