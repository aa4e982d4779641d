// Split SQL text on `;` outside strings, quoted identifiers and comments.

/** Returns [{from, to, text}] for each non-empty statement (offsets into `sql`, `;` excluded). */
export function splitStatements(sql) {
  const out = [];
  let start = 0;
  let i = 0;
  const n = sql.length;
  const push = (end) => {
    const text = sql.slice(start, end);
    if (stripComments(text).trim()) out.push({ from: start, to: end, text });
  };
  while (i < n) {
    const c = sql[i];
    if (c === "'" || c === '"' || c === "`") {
      i++;
      while (i < n) {
        if (sql[i] === c) {
          if (sql[i + 1] === c) i += 2; // doubled quote escapes itself
          else break;
        } else i++;
      }
      i++;
    } else if (c === "-" && sql[i + 1] === "-") {
      while (i < n && sql[i] !== "\n") i++;
    } else if (c === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      i = end < 0 ? n : end + 2;
    } else if (c === ";") {
      push(i);
      start = ++i;
    } else i++;
  }
  push(n);
  return out;
}

function stripComments(text) {
  return text.replace(/--[^\n]*/g, "").replace(/\/\*[\s\S]*?(\*\/|$)/g, "");
}

/** The statement under `pos`: the one containing it, else the closest one before it, else the first. */
export function statementAt(sql, pos) {
  const all = splitStatements(sql);
  if (!all.length) return null;
  let best = all[0];
  for (const s of all) {
    if (s.from <= pos) best = s;
    if (pos >= s.from && pos <= s.to) return s;
  }
  return best;
}

/** Offset within `text` of a 1-based line/column (column may be null). */
export function offsetOf(text, line, column) {
  let off = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf("\n", off);
    if (nl < 0) return text.length;
    off = nl + 1;
  }
  return Math.min(text.length, off + Math.max(0, (column || 1) - 1));
}
