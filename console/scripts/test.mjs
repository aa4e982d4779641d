// Unit tests of the pure parts (node --test): statement splitting and error positions.
import { test } from "node:test";
import assert from "node:assert/strict";
import { splitStatements, statementAt, offsetOf } from "../src/statements.js";

test("splits on ; outside strings, identifiers and comments", () => {
  const sql = "SELECT ';' AS a; -- x; y\nSELECT \"a;b\" /* ; */ FROM t;\n\n  ";
  assert.deepEqual(splitStatements(sql).map((s) => s.text.trim()), ["SELECT ';' AS a", '-- x; y\nSELECT "a;b" /* ; */ FROM t']);
});

test("doubled quotes stay inside the string", () => {
  assert.equal(splitStatements("SELECT 'it''s; fine'; SELECT 2").length, 2);
});

test("comment-only pieces are not statements", () => {
  assert.equal(splitStatements("SELECT 1; -- done\n").length, 1);
});

test("the statement under the cursor, else the one before it", () => {
  const sql = "SELECT 1;\nSELECT 2;\n";
  assert.equal(statementAt(sql, 3).text.trim(), "SELECT 1");
  assert.equal(statementAt(sql, 12).text.trim(), "SELECT 2");
  assert.equal(statementAt(sql, sql.length).text.trim(), "SELECT 2");
  assert.equal(statementAt("  ", 0), null);
});

test("1-based line and column to an offset", () => {
  assert.equal(offsetOf("ab\ncd", 2, 2), 4);
  assert.equal(offsetOf("ab\ncd", 1, null), 0);
  assert.equal(offsetOf("ab", 5, 1), 2);
});
