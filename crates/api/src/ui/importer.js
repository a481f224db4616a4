// A new import: pick a CSV and a module; the file is uploaded once and the server says which
// field each column fills (by its header); change any; check the file on the server (lint, the
// rules a job runs), try the exact job as a dry run and see what it would do, then import and
// follow the job. Every check is the server's.

import { h, pageView, announce, badge } from "./dom.js";
import { call, download, follow, org } from "./api.js";
import { parseCsv } from "./csv.js";
import { zipOne } from "./zip.js";
import { rememberRows } from "./job.js";
import { lintResult } from "./lint.js";
import { errorsSection, reportLines } from "./errors.js";

const NOT_IMPORTED = "";
const DATE_TYPES = { date: "yyyy-MM-dd", datetime: "yyyy-MM-dd'T'HH:mm:ss" };
const FINAL = ["SUCCEEDED", "FAILED", "CANCELLED"];
const POLL_MS = 1000;

/** Shows the import form; answers the function that leaves the page. */
export async function importPage() {
  const view = pageView();
  const modules = (await call("GET", "/crm/v2/settings/modules")).modules.filter((m) => m.api_supported !== false && m.creatable !== false);
  const moduleSelect = h("select", { id: "module" }, modules.map((m) => h("option", { value: m.api_name }, m.api_name)));
  const operation = h("select", { id: "operation" }, ["insert", "update", "upsert"].map((o) => h("option", { value: o }, o)));
  const fileInput = h("input", { id: "file", type: "file", accept: ".csv,text/csv" });
  const mapping = h("div", { id: "mapping" });
  const findings = h("div", { id: "lint", "aria-live": "polite" });
  const trial = h("section", { id: "dry-run", "aria-live": "polite" });
  const message = h("p", { id: "import-message", role: "alert" });
  const buttons = {
    lint: h("button", { type: "button", class: "secondary", id: "lint-button", disabled: true }, "Check file"),
    dry: h("button", { type: "button", class: "secondary", id: "dry-run-button", disabled: true }, "Dry run"),
    submit: h("button", { type: "submit", id: "submit", disabled: true }, "Import"),
  };
  const stop = new AbortController();
  let file = null; // {name, bytes, rows (data rows), id (the upload's file_id)}
  let fields = [];
  let columns = []; // the server's match of each header to a field

  let focused = null; // what had the focus when the buttons were disabled

  function busy(on) {
    if (on) focused = document.activeElement;
    for (const button of Object.values(buttons)) button.disabled = on || !file || !file.id;
    // A disabled button loses the focus; a keyboard user gets it back where it was.
    if (!on && focused && document.activeElement === document.body && !focused.disabled) focused.focus();
  }

  function fail(text) {
    message.className = "error";
    message.textContent = text;
  }

  async function loadFields() {
    const body = await call("GET", `/crm/v2/settings/fields?module=${encodeURIComponent(moduleSelect.value)}`);
    fields = (body && body.fields) || [];
  }

  /** The resource of a create body for the upload, with `field_mappings` when given. */
  function body(fieldMappings) {
    const resource = { type: "data", module: moduleSelect.value, file_id: file.id };
    if (fieldMappings) resource.field_mappings = fieldMappings;
    if (operation.value !== "insert") resource.find_by = "id";
    return { operation: operation.value, resource: [resource] };
  }

  /** The create body for the mapping on screen. */
  function jobBody() {
    const fieldMappings = [];
    for (const select of mapping.querySelectorAll("select[data-index]")) {
      if (select.value === NOT_IMPORTED) continue;
      const index = Number(select.dataset.index);
      const format = document.getElementById(`format-${index}`);
      const entry = { api_name: select.value, index };
      if (!format.hidden && format.value) entry.format = format.value;
      if (select.dataset.findBy && select.value === select.dataset.field) entry.find_by = select.dataset.findBy;
      fieldMappings.push(entry);
    }
    return body(fieldMappings);
  }

  /** Asks the server which field each header names (lint of the body without mappings). */
  async function matchColumns() {
    const answer = await call("POST", "/bulkwrite/v1/lint", { json: body(null) });
    columns = (answer.resources[0] && answer.resources[0].columns) || [];
  }

  function renderMapping() {
    if (!file || !file.id) { mapping.replaceChildren(); return; }
    mapping.replaceChildren(h("h2", {}, "Columns"), h("p", { class: "muted" },
      `${file.rows} data rows. Each column is mapped to the field its header names; change any.`),
    h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "Column"), h("th", {}, "Field"), h("th", {}, "Format"))),
      h("tbody", {}, columns.map((column) => {
        const select = h("select", { id: `map-${column.index}`, "data-index": column.index, "data-field": column.field,
          "data-find-by": column.find_by, "aria-label": `Field for column ${column.header}` },
        h("option", { value: NOT_IMPORTED }, "— not imported —"),
        fields.filter((f) => !f.read_only).map((f) => h("option", { value: f.api_name, selected: column.field === f.api_name },
          `${f.field_label || f.api_name} (${f.api_name})`)));
        const format = h("input", { id: `format-${column.index}`, size: 14, "aria-label": `Date format for column ${column.header}` });
        const syncFormat = () => {
          const field = fields.find((f) => f.api_name === select.value);
          const wanted = field && DATE_TYPES[field.data_type];
          format.hidden = !wanted;
          if (wanted && !format.value) format.value = wanted;
        };
        select.addEventListener("change", syncFormat);
        syncFormat();
        return h("tr", {}, h("td", {}, h("code", {}, column.header)), h("td", {}, select), h("td", {}, format));
      })))));
  }

  async function chooseFile() {
    const chosen = fileInput.files[0];
    if (!chosen) return;
    message.textContent = "";
    findings.replaceChildren();
    trial.replaceChildren();
    const bytes = new Uint8Array(await chosen.arrayBuffer());
    const name = chosen.name.endsWith(".csv") ? chosen.name : `${chosen.name}.csv`;
    // Counted here only for the progress bar; the server reads the file itself.
    const rows = parseCsv(new TextDecoder().decode(bytes)).filter((row) => row.length > 1 || row[0] !== "").length - 1;
    file = { name, bytes, rows: Math.max(rows, 0), id: null };
    busy(true);
    try {
      const zgid = (await org()).zgid;
      const form = new FormData();
      form.append("file", zipOne(name, bytes), `${name.replace(/\.csv$/i, "")}.zip`);
      const uploaded = await call("POST", "/crm/v2/upload", { form, headers: { feature: "bulk-write", "X-CRM-ORG": zgid } });
      file.id = uploaded.details.file_id;
      await matchColumns();
      renderMapping();
      announce(`${name} uploaded; ${columns.length} columns`);
    } catch (error) {
      fail(`The file was not accepted: ${error.message}`);
    }
    busy(false);
  }

  async function check() {
    message.textContent = "";
    busy(true);
    try {
      findings.replaceChildren(lintResult(await call("POST", "/bulkwrite/v1/lint", { json: jobBody() })));
      announce("File checked");
    } catch (error) {
      fail(`The check failed: ${error.message}`);
    }
    busy(false);
  }

  /** The dry run's state as it moves. */
  function trialState(id, doc) {
    return h("p", { id: "dry-run-state" }, badge(doc.state), " ",
      `${doc.processed} of ${file.rows} rows checked: ${doc.added} would be added, ${doc.updated} would be updated, ${doc.skipped} would be skipped. `,
      h("a", { href: `#/job/${encodeURIComponent(id)}` }, "Open the dry run"));
  }

  /** Waits for the dry run's end on its stream (or by reading it, when the stream is refused). */
  async function followTrial(id) {
    const path = `/bulkwrite/v1/jobs/${encodeURIComponent(id)}`;
    let last = null;
    await follow(`${path}/events`, async (name, doc) => {
      last = doc;
      trial.querySelector("#dry-run-state").replaceWith(trialState(id, doc));
    }, { signal: stop.signal });
    while (!stop.signal.aborted && !(last && FINAL.includes(last.state))) {
      const state = await call("GET", path);
      last = { ...state, processed: state.resources.reduce((n, r) => n + r.rows_done, 0),
        added: state.resources.reduce((n, r) => n + r.added, 0), updated: state.resources.reduce((n, r) => n + r.updated, 0),
        skipped: state.resources.reduce((n, r) => n + r.skipped, 0) };
      trial.querySelector("#dry-run-state").replaceWith(trialState(id, last));
      if (!FINAL.includes(last.state)) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    return last;
  }

  async function dryRun() {
    message.textContent = "";
    busy(true);
    trial.replaceChildren(h("h2", {}, "Dry run"), h("p", { id: "dry-run-state" }, "Starting…"));
    try {
      const answer = await call("POST", "/bulkwrite/v1/dry-runs", { json: jobBody() });
      const id = answer.details.id;
      rememberRows(id, file.rows);
      announce("Dry run started");
      const last = await followTrial(id);
      if (stop.signal.aborted) return;
      trial.append(h("p", { class: last.state === "SUCCEEDED" ? "ok" : "error", id: "dry-run-done" },
        last.state === "SUCCEEDED"
          ? "The dry run wrote no records. Import runs the same job for real."
          : `The dry run ended ${last.state}${last.error ? `: ${last.error}` : ""}.`));
      announce(`Dry run ${last.state}`);
      const details = await call("GET", `/crm/bulk/v2/write/${encodeURIComponent(id)}`);
      if (details.result && details.result.download_url) {
        const { blob } = await download(details.result.download_url);
        const report = reportLines(await (await download(`/bulkwrite/v1/jobs/${encodeURIComponent(id)}/report?format=jsonl`)).blob.text());
        trial.append(await errorsSection(blob, report));
      }
    } catch (error) {
      fail(error.status === 404 ? "This server does not offer dry runs." : `The dry run failed: ${error.message}`);
    }
    busy(false);
  }

  async function submit() {
    message.textContent = "";
    busy(true);
    try {
      const answer = await call("POST", "/crm/bulk/v2/write", { json: jobBody() });
      const id = answer.details.id;
      rememberRows(id, file.rows);
      announce("Import started");
      location.hash = `#/job/${encodeURIComponent(id)}`;
    } catch (error) {
      fail(`The job was refused: ${error.message}`);
      busy(false);
    }
  }

  async function changeModule() {
    await loadFields();
    if (file && file.id) {
      await matchColumns();
      findings.replaceChildren();
    }
    renderMapping();
  }

  fileInput.addEventListener("change", chooseFile);
  moduleSelect.addEventListener("change", changeModule);
  buttons.lint.addEventListener("click", check);
  buttons.dry.addEventListener("click", dryRun);
  const form = h("form", { class: "card", id: "import-form", onsubmit: (event) => { event.preventDefault(); submit(); } },
    h("div", { class: "row" },
      h("div", {}, h("label", { for: "file" }, "CSV file"), fileInput),
      h("div", {}, h("label", { for: "module" }, "Module"), moduleSelect),
      h("div", {}, h("label", { for: "operation" }, "Operation"), operation)),
    mapping, findings, message,
    h("div", { class: "row" }, buttons.lint, buttons.dry, buttons.submit));
  await loadFields();
  view.show(h("h1", {}, "New import"), form, trial);
  return () => stop.abort();
}
