// Builds the console into ../src/trailsql/serve/console/: index.html, console.js, console.css
// and THIRD_PARTY_LICENSES.txt (name, version and licence text of every bundled package).
import * as esbuild from "esbuild";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const out = path.resolve(root, "../src/trailsql/serve/console");
const ALLOWED = new Set(["MIT", "ISC", "BSD-2-Clause", "BSD-3-Clause", "Apache-2.0", "0BSD"]);
const banner = "/*! trailsql console. Bundled third-party code and its licences: see THIRD_PARTY_LICENSES.txt */";

// style-mod (CodeMirror's CSS-in-JS) writes a <style> element into a document, which the
// server's CSP (style-src 'self', no 'unsafe-inline') blocks. Constructable stylesheets
// (adoptedStyleSheets) are not subject to style-src, so use them for documents too.
const styleModPatch = {
  name: "style-mod-adopted-sheets",
  setup(build) {
    build.onLoad({ filter: /style-mod[\\/]src[\\/]style-mod\.js$/ }, async (args) => {
      const src = await fs.promises.readFile(args.path, "utf8");
      const from = "if (!root.head && root.adoptedStyleSheets && win.CSSStyleSheet) {";
      if (!src.includes(from)) throw new Error("style-mod changed: cannot apply the CSP patch");
      return { contents: src.replace(from, "if (root.adoptedStyleSheets && win.CSSStyleSheet) {"), loader: "js" };
    });
  },
};

fs.mkdirSync(out, { recursive: true });
const result = await esbuild.build({
  entryPoints: [path.join(root, "src/main.js")],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020", "chrome100", "firefox100", "safari16"],
  outfile: path.join(out, "console.js"),
  legalComments: "none",
  banner: { js: banner },
  metafile: true,
  plugins: [styleModPatch],
  logLevel: "warning",
});
await esbuild.build({
  entryPoints: [path.join(root, "src/console.css")],
  bundle: true,
  minify: true,
  outfile: path.join(out, "console.css"),
  banner: { css: banner },
  logLevel: "warning",
});
fs.copyFileSync(path.join(root, "src/index.html"), path.join(out, "index.html"));

const js = fs.readFileSync(path.join(out, "console.js"), "utf8");
for (const bad of [/new Function\b/, /\beval\(/, /\.(inner|outer)HTML\s*=/, /insertAdjacentHTML/, /document\.write/]) {
  if (bad.test(js)) throw new Error(`console.js matches ${bad}: not allowed under the CSP / text-only rule`);
}

// Which packages ended up in the bundle, from esbuild's metafile.
const pkgs = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (!m) continue;
  const dir = path.join(root, "node_modules", m[1]);
  if (pkgs.has(m[1])) continue;
  const meta = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  const licence = typeof meta.license === "string" ? meta.license : meta.license?.type;
  if (!ALLOWED.has(licence)) throw new Error(`${m[1]}: licence ${licence} is not in the allowed list`);
  const file = fs.readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f));
  if (!file) throw new Error(`${m[1]}: no licence file`);
  pkgs.set(m[1], { version: meta.version, licence, text: fs.readFileSync(path.join(dir, file), "utf8").trim() });
}
const names = [...pkgs.keys()].sort();
let text = "Third-party software bundled in console.js (built from console/ with esbuild).\n\n";
for (const n of names) {
  const p = pkgs.get(n);
  text += `${"=".repeat(72)}\n${n} ${p.version} (${p.licence})\n${"=".repeat(72)}\n${p.text}\n\n`;
}
fs.writeFileSync(path.join(out, "THIRD_PARTY_LICENSES.txt"), text);

// What the bundle was built from: tests/test_serve_console.py recomputes it from the sources
// (without Node), so a source changed without `make console` fails the tests.
const hash = crypto.createHash("sha256");
const sources = ["package-lock.json", "package.json", ...["src", "scripts"].flatMap((d) => fs.readdirSync(path.join(root, d)).map((f) => `${d}/${f}`))].sort();
for (const rel of sources) {
  hash.update(rel + "\0");
  hash.update(fs.readFileSync(path.join(root, rel)));
  hash.update("\0");
}
fs.writeFileSync(path.join(out, "SOURCES.sha256"), hash.digest("hex") + "\n");

for (const f of ["console.js", "console.css", "index.html", "THIRD_PARTY_LICENSES.txt"]) {
  console.log(`${f.padEnd(26)} ${fs.statSync(path.join(out, f)).size} bytes`);
}
console.log(`bundled packages: ${names.map((n) => `${n}@${pkgs.get(n).version}`).join(", ")}`);
