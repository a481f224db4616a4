// Checks a file and its mapping in the browser before anything is uploaded: mandatory fields
// (system or default layout) mapped and filled, no field twice, every row as wide as the header, dates in their format,
// picklist values known, Zoho's row limit. Lookups and duplicates against stored records need
// the org's data: the dry run checks those.

import { h } from "./dom.js";

const MAX_ROWS = 25000;
const LISTED = 20;

/** A date format (`yyyy/MM/dd`) as a pattern for its cells. */
function datePattern(format) {
  const source = format.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/'/g, "")
    .replace(/yyyy/g, "\\d{4}").replace(/MM/g, "(0[1-9]|1[0-2])").replace(/dd/g, "(0[1-9]|[12]\\d|3[01])")
    .replace(/HH/g, "([01]\\d|2[0-3])").replace(/mm/g, "[0-5]\\d").replace(/ss/g, "[0-5]\\d");
  return new RegExp(`^${source}$`);
}

/** The problems of `rows` (header first) under `resource`'s mappings, as a list element. */
export function lint(rows, resource, fields, operation) {
  const problems = [];
  const header = rows[0] || [];
  const data = rows.slice(1);
  const byName = new Map(fields.map((f) => [f.api_name, f]));
  const mapped = new Map();
  for (const m of resource.field_mappings) {
    if (mapped.has(m.api_name)) problems.push(`${m.api_name} is mapped from two columns.`);
    mapped.set(m.api_name, m);
  }
  if (operation === "insert") {
    for (const field of fields.filter((f) => f.mandatory && !mapped.has(f.api_name))) {
      problems.push(`${field.api_name} is mandatory and no column is mapped to it.`);
    }
  }
  if (resource.field_mappings.length === 0) problems.push("No column is mapped to a field.");
  if (data.length > MAX_ROWS) problems.push(`${data.length} rows: Zoho takes at most ${MAX_ROWS} per file.`);
  const rowProblems = [];
  data.forEach((cells, i) => {
    const row = i + 1;
    if (cells.length !== header.length) rowProblems.push(`row ${row}: ${cells.length} cells, the header has ${header.length}.`);
    for (const m of resource.field_mappings) {
      const field = byName.get(m.api_name);
      const cell = (cells[m.index] ?? "").trim();
      if (!field) continue;
      if (cell === "") {
        if (field.mandatory && operation === "insert") rowProblems.push(`row ${row}: ${header[m.index]} is empty but ${m.api_name} is mandatory.`);
        continue;
      }
      if (m.format && !datePattern(m.format).test(cell)) rowProblems.push(`row ${row}: '${cell}' in ${header[m.index]} is not a date in ${m.format}.`);
      const picks = (field.pick_list_values || []).map((p) => p.actual_value);
      if (field.data_type === "picklist" && picks.length && !picks.includes(cell)) {
        rowProblems.push(`row ${row}: '${cell}' in ${header[m.index]} is not a value of ${m.api_name}.`);
      }
    }
  });
  problems.push(...rowProblems.slice(0, LISTED));
  if (rowProblems.length > LISTED) problems.push(`… and ${rowProblems.length - LISTED} more row problems.`);
  if (problems.length === 0) return h("p", { class: "ok", id: "lint-result" }, `No problems found in ${data.length} rows.`);
  return h("div", { id: "lint-result" }, h("p", { class: "error" }, `${problems.length} problem(s) found:`),
    h("ul", { class: "problems" }, problems.map((p) => h("li", {}, p))));
}
