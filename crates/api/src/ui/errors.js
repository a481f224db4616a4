// A finished job's errors, read from its result file: grouped by code and column, with example rows.

import { h } from "./dom.js";
import { parseCsv } from "./csv.js";
import { unzipTexts } from "./zip.js";

const EXAMPLES = 3;
const RESULT_COLUMNS = 3; // STATUS, RECORD_ID, ERRORS

/** The rows of a result CSV: `{row, values, status, recordId, errors: [{code, columns}]}`. */
export function resultRows(text) {
  const [header, ...rows] = parseCsv(text).filter((row) => row.length > 1 || row[0] !== "");
  const echo = header.length - RESULT_COLUMNS;
  return {
    header: header.slice(0, echo),
    rows: rows.map((cells, index) => {
      // An unquoted ERRORS cell with commas spills into extra cells: join them back.
      const errorsCell = cells.slice(echo + 2).join(",");
      const errors = errorsCell.split(":").map((group) => group.trim()).filter(Boolean).map((group) => {
        const dash = group.indexOf("-");
        const code = dash < 0 ? group : group.slice(0, dash);
        const columns = dash < 0 ? [] : group.slice(dash + 1).split(",").map((c) => c.trim()).filter(Boolean);
        return { code, columns };
      });
      return { row: index + 1, values: cells.slice(0, echo), status: cells[echo], recordId: cells[echo + 1], errors };
    }),
  };
}

/** Groups rows' errors by code and column: `[{code, column, count, examples: [row…]}]`, largest first. */
export function groupErrors(rows) {
  const groups = new Map();
  for (const row of rows) {
    for (const error of row.errors) {
      for (const column of error.columns.length ? error.columns : [""]) {
        const key = `${error.code}\u0000${column}`;
        if (!groups.has(key)) groups.set(key, { code: error.code, column, count: 0, examples: [] });
        const group = groups.get(key);
        group.count += 1;
        if (group.examples.length < EXAMPLES) group.examples.push(row);
      }
    }
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || a.code.localeCompare(b.code));
}

/** The report's sentence for a row's error of `code` at `column` (field API name or header). */
function sentence(report, row, code, column) {
  const line = report && report.get(row.row);
  const error = line && line.errors.find((e) => e.code === code && (e.field === column || e.column === column || !column));
  return error ? error.message : null;
}

/** The lines of a `jsonl` report by row number. */
export function reportLines(text) {
  const lines = new Map();
  for (const line of text.split("\n").filter((l) => l.trim())) {
    const parsed = JSON.parse(line);
    lines.set(parsed.row, parsed);
  }
  return lines;
}

/** The errors section of a job page, from its result zip and (when given) its report's sentences. */
export async function errorsSection(zipBlob, report) {
  const sections = [];
  for (const entry of await unzipTexts(zipBlob)) {
    const { header, rows } = resultRows(entry.text);
    const groups = groupErrors(rows);
    const failing = rows.filter((row) => row.errors.length > 0).length;
    sections.push(h("h3", {}, entry.name));
    if (groups.length === 0) {
      sections.push(h("p", { class: "ok" }, `All ${rows.length} rows went through without errors.`));
      continue;
    }
    sections.push(h("p", {}, `${failing} of ${rows.length} rows have errors.`));
    const body = groups.map((group) => h("tr", { "data-code": group.code, "data-column": group.column },
      h("td", {}, h("code", {}, group.code)),
      h("td", {}, group.column || "—"),
      h("td", {}, String(group.count)),
      h("td", {}, h("ul", { class: "problems" },
        group.examples.map((row) => example(header, row, group, report))))));
    const head = h("tr", {}, h("th", {}, "Code"), h("th", {}, "Column"), h("th", {}, "Rows"), h("th", {}, "Examples"));
    sections.push(h("div", { class: "table-wrap" },
      h("table", { id: "error-groups" }, h("thead", {}, head), h("tbody", {}, body))));
  }
  return h("section", { id: "errors", "aria-labelledby": "errors-title" }, h("h2", { id: "errors-title" }, "Errors"), ...sections);
}

/** One example row: its cells, then the report's sentence when there is one. */
function example(header, row, group, report) {
  const reason = sentence(report, row, group.code, group.column);
  return h("li", {}, `row ${row.row}: `, exampleText(header, row, group.column),
    ...(reason ? [h("br"), h("em", { class: "reason" }, reason)] : []));
}

/** A row's cells as `header=value`, the erring column first. */
function exampleText(header, row, column) {
  const pairs = header.map((name, i) => [name, row.values[i]]);
  pairs.sort(([a], [b]) => (b === column) - (a === column));
  return pairs.map(([name, value]) => `${name}=${JSON.stringify(value ?? "")}`).join(", ");
}
