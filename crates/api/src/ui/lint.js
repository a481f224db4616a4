// Shows what the server's lint (POST /bulkwrite/v1/lint) found: the refusal a create call would
// answer, or each resource's row problems and notes. Every rule is the server's (core's lint,
// the worker's row mapping); nothing here decides what is wrong.

import { h } from "./dom.js";

/** The lint answer as the page's findings (`#lint-result`). */
export function lintResult(answer) {
  if (answer.refusal) {
    return h("div", { id: "lint-result" },
      h("p", { class: "error" }, "The job would be refused: ", h("code", {}, answer.refusal.code)),
      h("p", { id: "lint-refusal" }, answer.refusal.explanation));
  }
  const parts = [];
  for (const resource of answer.resources) {
    const check = resource.check;
    const title = answer.resources.length > 1 ? `${resource.module}: ` : "";
    const problems = [...resource.notes, ...(check ? check.problems : [])];
    if (check && check.errors === 0 && check.warnings === 0 && resource.notes.length === 0) {
      parts.push(h("p", { class: "ok" }, `${title}No problems found in ${check.rows} rows.`));
    } else if (check) {
      parts.push(h("p", { class: check.errors ? "error" : "muted" },
        `${title}${check.rows} rows checked: ${check.errors} error(s) in ${check.rows_with_errors} row(s), ${check.warnings} warning(s).`));
    }
    if (problems.length) {
      parts.push(h("ul", { class: "problems" }, problems.map((p) => h("li", { class: p.warning ? "muted" : "" },
        p.row ? `row ${p.row}` : "file", p.column ? `, column "${p.column}"` : "", ": ", h("code", {}, p.code), ` ${p.message}`))));
    }
    const listed = check ? check.problems.length : 0;
    if (check && check.errors + check.warnings > listed) {
      parts.push(h("p", { class: "muted" }, `… and ${check.errors + check.warnings - listed} more.`));
    }
    if (check && check.lookup_cells > 0) {
      parts.push(h("p", { class: "muted" }, `${check.lookup_cells} lookup cells are matched against the org's records by the dry run.`));
    }
  }
  return h("div", { id: "lint-result" }, ...parts);
}
