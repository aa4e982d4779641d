// The CodeMirror editor and its tabs (kept in localStorage across reloads).
import { EditorView, basicSetup } from "codemirror";
import { EditorState, Compartment, Prec } from "@codemirror/state";
import { keymap } from "@codemirror/view";
import { sql } from "@codemirror/lang-sql";
import { setDiagnostics } from "@codemirror/lint";
import { Athena } from "./dialect.js";
import { statementAt, offsetOf } from "./statements.js";
import { el, $, clear } from "./util.js";

const STORE = "trailsql.console.tabs";
const language = new Compartment();
let view;
let tabs = []; // {id, name, state}
let active = 0;
let onRun = () => {};
let saveTimer = 0;

let columnFields = new Map(); // column name (lower case) -> its struct fields, over all tables

/** Completes struct fields after a dot: `useridentity.`, `t.useridentity.sessioncontext.`. */
function fieldCompletions(ctx) {
  const m = ctx.matchBefore(/[\w$]+(\.[\w$]+)*\.[\w$]*$/);
  if (!m) return null;
  const parts = m.text.toLowerCase().split(".");
  const last = parts.pop();
  for (let start = 0; start < parts.length; start++) {
    let fields = columnFields.get(parts[start]);
    for (const p of parts.slice(start + 1)) {
      const f = (fields || []).find((x) => x.name.toLowerCase() === p);
      fields = f && f.fields;
    }
    if (fields && fields.length) {
      return { from: m.to - last.length, options: fields.map((f) => ({ label: f.name, type: "property", detail: f.type })), validFor: /^[\w$]*$/ };
    }
  }
  return null;
}

function languageFor(schema, defaultTable) {
  return [sql({ dialect: Athena, schema, defaultTable, upperCaseKeywords: false }), Athena.language.data.of({ autocomplete: fieldCompletions })];
}
let currentLanguage = languageFor(undefined, undefined);

function newState(doc) {
  return EditorState.create({
    doc,
    extensions: [
      Prec.highest(
        keymap.of([
          { key: "Mod-Enter", run: () => (onRun(), true) },
          { key: "Shift-Enter", run: () => (onRun(), true) },
        ]),
      ),
      basicSetup,
      language.of(currentLanguage),
      EditorView.updateListener.of((u) => {
        if (u.docChanged) {
          tabs[active].state = u.state;
          scheduleSave();
        }
      }),
    ],
  });
}

function scheduleSave() {
  clearTimeout(saveTimer);
  saveTimer = setTimeout(save, 300);
}

function save() {
  if (view) tabs[active].state = view.state;
  const data = { active, tabs: tabs.map((t) => ({ id: t.id, name: t.name, sql: t.state.doc.toString() })) };
  try {
    localStorage.setItem(STORE, JSON.stringify(data));
  } catch {
    /* storage full or disabled: tabs just do not survive a reload */
  }
}

function load() {
  try {
    const data = JSON.parse(localStorage.getItem(STORE) || "null");
    if (data && Array.isArray(data.tabs) && data.tabs.length) {
      tabs = data.tabs.map((t, i) => ({ id: t.id || `t${i}`, name: String(t.name || `Query ${i + 1}`), state: newState(String(t.sql || "")) }));
      active = Math.min(Math.max(0, data.active | 0), tabs.length - 1);
      return;
    }
  } catch {
    /* ignore a corrupt entry */
  }
  tabs = [{ id: uid(), name: "Query 1", state: newState("SELECT eventname, count(*) AS n\nFROM cloudtrail_logs\nGROUP BY 1\nORDER BY 2 DESC\nLIMIT 20") }];
  active = 0;
}

const uid = () => `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

export function initEditor(runHandler) {
  onRun = runHandler;
  load();
  view = new EditorView({ state: tabs[active].state, parent: $("editor") });
  window.trailsqlEditor = view;
  renderTabs();
  window.addEventListener("beforeunload", save);
  return view;
}

function renderTabs() {
  const bar = clear($("editor-tabs"));
  tabs.forEach((t, i) => {
    const tab = el(
      "div",
      { class: `editor-tab${i === active ? " active" : ""}`, role: "tab", "aria-selected": String(i === active), dataset: { tab: t.id }, title: "Double-click to rename" },
      el("span", { class: "editor-tab-name", onclick: () => selectTab(i), ondblclick: () => renameTab(i) }, t.name),
      el("button", { type: "button", class: "editor-tab-close", title: "Close tab", "aria-label": `Close ${t.name}`, onclick: (e) => (e.stopPropagation(), closeTab(i)) }, "×"),
    );
    bar.append(tab);
  });
  bar.append(el("button", { type: "button", id: "tab-add", class: "editor-tab-add", title: "New tab", onclick: () => newTab("") }, "+"));
}

export function selectTab(i) {
  if (i === active && view.state === tabs[i].state) return;
  tabs[active].state = view.state;
  active = i;
  view.setState(tabs[i].state);
  renderTabs();
  save();
  view.focus();
}

function renameTab(i) {
  const name = prompt("Tab name", tabs[i].name);
  if (name && name.trim()) {
    tabs[i].name = name.trim().slice(0, 60);
    renderTabs();
    save();
  }
}

function closeTab(i) {
  tabs[active].state = view.state;
  tabs.splice(i, 1);
  if (!tabs.length) tabs.push({ id: uid(), name: "Query 1", state: newState("") });
  if (active >= i && active > 0) active--;
  active = Math.min(active, tabs.length - 1);
  view.setState(tabs[active].state);
  renderTabs();
  save();
}

function nextName() {
  const used = new Set(tabs.map((t) => t.name));
  let n = tabs.length + 1;
  while (used.has(`Query ${n}`)) n++;
  return `Query ${n}`;
}

/** Opens `sql` in a new tab (or selects a tab already holding exactly that text). */
export function newTab(text, name) {
  if (view) tabs[active].state = view.state;
  const existing = text ? tabs.findIndex((t) => t.state.doc.toString() === text) : -1;
  if (existing >= 0) {
    selectTab(existing);
    return;
  }
  tabs.push({ id: uid(), name: name || nextName(), state: newState(text) });
  active = tabs.length - 1;
  view.setState(tabs[active].state);
  renderTabs();
  save();
  view.focus();
}

/** The SQL to run: the selection if any, else the statement under the cursor. */
export function currentStatement() {
  const state = view.state;
  const sel = state.selection.main;
  const doc = state.doc.toString();
  if (!sel.empty) return { text: doc.slice(sel.from, sel.to), from: sel.from };
  const s = statementAt(doc, sel.head);
  if (!s) return null;
  const lead = s.text.length - s.text.trimStart().length;
  return { text: s.text.trim(), from: s.from + lead };
}

export const currentSql = () => view.state.doc.toString();

/** Marks an error at 1-based line/column of the statement that started at `from`. */
export function showDiagnostic(from, text, line, column, message) {
  const doc = view.state.doc;
  let pos = from + offsetOf(text, line || 1, line ? column : 1);
  pos = Math.min(Math.max(0, pos), doc.length);
  // Mark the whole word around the position (servers point at a token's start or its end).
  const before = /[\w$]*$/.exec(doc.sliceString(Math.max(0, pos - 80), pos))[0];
  const after = /^[\w$]+|^\S/.exec(doc.sliceString(pos, Math.min(doc.length, pos + 80)));
  let to = pos + (after ? after[0].length : 0);
  if (after && /^[\w$]/.test(after[0])) pos -= before.length;
  else if (!after && before) pos -= before.length;
  if (!line) to = Math.min(doc.length, from + text.length);
  view.dispatch(setDiagnostics(view.state, [{ from: pos, to, severity: "error", message }]));
  const l = doc.lineAt(pos);
  return { line: l.number, column: pos - l.from + 1 };
}

export function clearDiagnostics() {
  view.dispatch(setDiagnostics(view.state, []));
}

/** Puts the catalog's names into completion (tables, columns, struct fields). */
export function setSchema(schema, defaultTable, fields) {
  columnFields = fields || new Map();
  currentLanguage = languageFor(schema, defaultTable);
  for (const t of tabs) if (t.state !== view.state) t.state = t.state.update({ effects: language.reconfigure(currentLanguage) }).state;
  view.dispatch({ effects: language.reconfigure(currentLanguage) });
  tabs[active].state = view.state;
}

export function insertAtCursor(text) {
  const sel = view.state.selection.main;
  view.dispatch({ changes: { from: sel.from, to: sel.to, insert: text }, selection: { anchor: sel.from + text.length }, scrollIntoView: true });
  view.focus();
}
