// A new import: pick a CSV and a module, see each column mapped to a field by its header and
// change it, check the file, try it as a dry run, then upload, create the job and follow it.

import { h, show, announce } from "./dom.js";
import { call, org } from "./api.js";
import { parseCsv } from "./csv.js";
import { zipOne } from "./zip.js";
import { rememberRows } from "./job.js";
import { lint } from "./lint.js";

const NOT_IMPORTED = "";
const DATE_TYPES = { date: "yyyy-MM-dd", datetime: "yyyy-MM-dd'T'HH:mm:ss" };

/** The field a header names: its API name or its label, ignoring case, spaces and underscores. */
function autoMap(header, fields) {
  const key = (text) => String(text || "").toLowerCase().replace(/[\s_]+/g, "");
  return fields.find((f) => key(f.api_name) === key(header)) || fields.find((f) => key(f.field_label) === key(header));
}

/** Shows the import form; answers the function that leaves the page. */
export async function importPage() {
  const modules = (await call("GET", "/crm/v2/settings/modules")).modules.filter((m) => m.api_supported !== false && m.creatable !== false);
  const moduleSelect = h("select", { id: "module" }, modules.map((m) => h("option", { value: m.api_name }, m.api_name)));
  const operation = h("select", { id: "operation" }, ["insert", "update", "upsert"].map((o) => h("option", { value: o }, o)));
  const fileInput = h("input", { id: "file", type: "file", accept: ".csv,text/csv" });
  const mapping = h("div", { id: "mapping" });
  const findings = h("div", { id: "lint", "aria-live": "polite" });
  const message = h("p", { id: "import-message", role: "alert" });
  const buttons = {
    lint: h("button", { type: "button", class: "secondary", id: "lint-button", disabled: true }, "Check file"),
    dry: h("button", { type: "button", class: "secondary", id: "dry-run", disabled: true }, "Dry run"),
    submit: h("button", { type: "submit", id: "submit", disabled: true }, "Import"),
  };
  let file = null; // {name, bytes, rows}
  let fields = [];

  async function loadFields() {
    const module = encodeURIComponent(moduleSelect.value);
    const [body, layouts] = await Promise.all([call("GET", `/crm/v2/settings/fields?module=${module}`),
      call("GET", `/crm/v2/settings/layouts?module=${module}`).catch(() => null)]);
    // A field is mandatory when the system says so or the default layout requires it.
    const layout = layouts && layouts.layouts && layouts.layouts[0];
    const required = new Set(((layout && layout.sections) || []).flatMap((section) =>
      (section.fields || []).filter((f) => f.required).map((f) => f.api_name)));
    fields = ((body && body.fields) || []).map((f) => ({ ...f, mandatory: Boolean(f.system_mandatory || required.has(f.api_name)) }));
  }

  function renderMapping() {
    if (!file) { mapping.replaceChildren(); return; }
    const header = file.rows[0] || [];
    mapping.replaceChildren(h("h2", {}, "Columns"), h("p", { class: "muted" },
      `${file.rows.length - 1} data rows. Columns are mapped by header; change any.`),
    h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "Column"), h("th", {}, "Field"), h("th", {}, "Format"))),
      h("tbody", {}, header.map((name, index) => {
        const match = autoMap(name, fields);
        const select = h("select", { id: `map-${index}`, "data-index": index, "aria-label": `Field for column ${name}` },
          h("option", { value: NOT_IMPORTED }, "— not imported —"),
          fields.filter((f) => !f.read_only).map((f) => h("option", { value: f.api_name, selected: match && match.api_name === f.api_name },
            `${f.field_label || f.api_name} (${f.api_name})`)));
        const format = h("input", { id: `format-${index}`, size: 14, "aria-label": `Date format for column ${name}` });
        const syncFormat = () => {
          const field = fields.find((f) => f.api_name === select.value);
          const wanted = field && DATE_TYPES[field.data_type];
          format.hidden = !wanted;
          if (wanted && !format.value) format.value = wanted;
        };
        select.addEventListener("change", syncFormat);
        syncFormat();
        return h("tr", {}, h("td", {}, h("code", {}, name)), h("td", {}, select), h("td", {}, format));
      })))));
    for (const button of Object.values(buttons)) button.disabled = false;
  }

  /** The create-job body for the chosen mapping and an uploaded file id. */
  function jobBody(fileId) {
    const fieldMappings = [];
    for (const select of mapping.querySelectorAll("select[data-index]")) {
      if (select.value === NOT_IMPORTED) continue;
      const index = Number(select.dataset.index);
      const format = document.getElementById(`format-${index}`);
      const entry = { api_name: select.value, index };
      if (!format.hidden && format.value) entry.format = format.value;
      fieldMappings.push(entry);
    }
    const resource = { type: "data", module: moduleSelect.value, file_id: fileId, field_mappings: fieldMappings };
    if (operation.value !== "insert") resource.find_by = "id";
    return { operation: operation.value, resource: [resource] };
  }

  async function upload() {
    const zgid = (await org()).zgid;
    const form = new FormData();
    form.append("file", zipOne(file.name, file.bytes), `${file.name.replace(/\.csv$/i, "")}.zip`);
    const body = await call("POST", "/crm/v2/upload", { form, headers: { feature: "bulk-write", "X-CRM-ORG": zgid } });
    return body.details.file_id;
  }

  async function start(path, dry) {
    message.textContent = "";
    message.className = "";
    for (const button of Object.values(buttons)) button.disabled = true;
    try {
      const answer = await call("POST", path, { json: jobBody(await upload()) });
      const id = answer.details.id;
      rememberRows(id, file.rows.length - 1);
      announce(dry ? "Dry run started" : "Import started");
      location.hash = `#/job/${encodeURIComponent(id)}`;
    } catch (error) {
      message.className = "error";
      message.textContent = error.status === 404 && dry
        ? "This server does not offer dry runs yet (POST /bulkwrite/v1/dry-runs)."
        : `The job was refused: ${error.message}`;
      for (const button of Object.values(buttons)) button.disabled = false;
    }
  }

  fileInput.addEventListener("change", async () => {
    const chosen = fileInput.files[0];
    if (!chosen) return;
    const bytes = new Uint8Array(await chosen.arrayBuffer());
    file = { name: chosen.name.endsWith(".csv") ? chosen.name : `${chosen.name}.csv`, bytes, rows: parseCsv(new TextDecoder().decode(bytes)) };
    findings.replaceChildren();
    renderMapping();
  });
  moduleSelect.addEventListener("change", async () => { await loadFields(); renderMapping(); });
  buttons.lint.addEventListener("click", () => findings.replaceChildren(lint(file.rows, jobBody("").resource[0], fields, operation.value)));
  buttons.dry.addEventListener("click", () => start("/bulkwrite/v1/dry-runs", true));
  const form = h("form", { class: "card", id: "import-form", onsubmit: (event) => { event.preventDefault(); start("/crm/bulk/v2/write", false); } },
    h("div", { class: "row" },
      h("div", {}, h("label", { for: "file" }, "CSV file"), fileInput),
      h("div", {}, h("label", { for: "module" }, "Module"), moduleSelect),
      h("div", {}, h("label", { for: "operation" }, "Operation"), operation)),
    mapping, findings, message,
    h("div", { class: "row" }, buttons.lint, buttons.dry, buttons.submit));
  await loadFields();
  show(h("h1", {}, "New import"), form);
  return () => {};
}
