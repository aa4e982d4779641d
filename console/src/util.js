// DOM helpers. Everything from the server goes in as text (createTextNode / textContent);
// no HTML strings are ever parsed, so event fields holding markup stay inert.

/** el("div", {class: "x", onclick: fn, dataset: {id: "1"}}, "text", child, ...) */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value == null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "style" || key === "innerHTML") throw new Error(`el(): ${key} not allowed`);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child == null || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export const $ = (id) => document.getElementById(id);

export function clear(node) {
  node.replaceChildren();
  return node;
}

export function formatBytes(n) {
  if (n == null) return "–";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function formatMs(ms) {
  if (ms == null) return "–";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
}

export const formatInt = (n) => (n == null ? "–" : Number(n).toLocaleString("en-US"));

export function formatTime(epochS) {
  if (epochS == null) return "";
  const d = new Date(epochS * 1000);
  return d.toISOString().replace("T", " ").slice(0, 19) + "Z";
}

let messageTimer = 0;
export function flash(text) {
  const node = $("message");
  node.textContent = text;
  clearTimeout(messageTimer);
  messageTimer = setTimeout(() => (node.textContent = ""), 4000);
}
