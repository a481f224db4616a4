// One job: state, progress and counts live (each event of the job's stream moves them; polling
// only when the server refuses the stream), its resources, cancel, undo, downloads of the result
// and report, and its errors. An undo job (kind `undo`) has no Zoho details: it is shown from
// /bulkwrite/v1/jobs/{id} alone.

import { h, pageView, badge, announce, saveBlob } from "./dom.js";
import { call, download, follow } from "./api.js";
import { errorsSection, reportLines } from "./errors.js";

const POLL_MS = 1000;
const FINAL = ["SUCCEEDED", "FAILED", "CANCELLED"];

/** Rows the dashboard uploaded for a job, when it started the job (for the progress bar). */
export function rememberRows(id, rows) {
  sessionStorage.setItem(`bulkwrite.rows.${id}`, String(rows));
}

function counts(state) {
  return state.resources.reduce((sum, r) => ({ added: sum.added + r.added, updated: sum.updated + r.updated,
    skipped: sum.skipped + r.skipped, done: sum.done + r.rows_done }), { added: 0, updated: 0, skipped: 0, done: 0 });
}

function moduleName(resource) {
  return typeof resource.module === "string" ? resource.module : resource.module.api_name;
}

/** Shows the job; answers the function that stops following it. */
export async function jobPage(id) {
  const view = pageView();
  const path = encodeURIComponent(id);
  const stop = new AbortController();
  let timer = null;
  const heading = h("h1", {}, `Job ${id}`);
  const summary = h("div", { class: "card", id: "summary" });
  const resources = h("div", { id: "resources" });
  const actions = h("div", { class: "row", id: "actions" });
  const errors = h("div", { id: "errors-holder" });
  const message = h("p", { role: "alert", class: "error", id: "job-message" });
  view.show(heading, summary, actions, message, resources, errors);
  let finalShown = false;
  let state = null; // GET /bulkwrite/v1/jobs/{id}, then moved on by each event
  let details = null; // GET /crm/bulk/v2/write/{id}
  let following = false; // the job's stream is open

  function renderSummary() {
    const total = counts(state);
    const planned = Number(sessionStorage.getItem(`bulkwrite.rows.${id}`)) || null;
    const final = FINAL.includes(state.state);
    const bar = h("progress", { id: "progress", max: planned || 1, "aria-label": "Rows done" });
    if (planned) bar.value = Math.min(total.done, planned);
    else if (final) bar.value = 1;
    summary.replaceChildren(
      h("p", {}, "State ", h("span", { id: "state" }, badge(state.state)), " ", h("span", { class: "muted" }, `(Zoho status ${state.status})`)),
      ...(state.dry_run ? [h("p", { id: "dry-run-note" }, h("strong", {}, "Dry run:"), " the counts and errors are what the real job would give; no records were written.")] : []),
      bar,
      h("div", { class: "counts" },
        h("div", {}, h("strong", { id: "count-done" }, String(total.done)), planned ? `of ${planned} rows done` : "rows done"),
        h("div", {}, h("strong", { id: "count-added" }, String(total.added)), "added"),
        h("div", {}, h("strong", { id: "count-updated" }, String(total.updated)), "updated"),
        h("div", {}, h("strong", { id: "count-skipped" }, String(total.skipped)), "skipped")),
      h("p", { class: "muted" }, `${details.operation} · created ${details.created_time} by ${details.created_by.name}`),
      ...(state.error ? [h("p", { class: "error" }, state.error)] : []));
  }

  function renderResources() {
    resources.replaceChildren(h("h2", {}, "Resources"), h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, h("th", {}, "Module"), h("th", {}, "File"), h("th", {}, "Status"), h("th", {}, "Mapped fields"))),
      h("tbody", {}, details.resource.map((resource) => h("tr", {},
        h("td", {}, moduleName(resource)), h("td", {}, resource.file.name || "—"), h("td", {}, resource.status),
        h("td", {}, resource.field_mappings.map((m) => `${m.api_name}←${m.index ?? "default"}`).join(", "))))))));
  }

  /** A Bulk Read job: what it exports, how many records, its download. */
  async function renderRead() {
    const read = (await call("GET", `/crm/bulk/v2/read/${path}`)).data[0];
    const final = FINAL.includes(state.state);
    const result = read.result || {};
    summary.replaceChildren(
      h("p", {}, "State ", h("span", { id: "state" }, badge(state.state)), " ", h("span", { class: "muted" }, `(Zoho state ${read.state})`)),
      h("div", { class: "counts" },
        h("div", {}, h("strong", { id: "count-exported" }, String(result.count ?? 0)), "records exported"),
        h("div", {}, h("strong", {}, String(read.query.page)), "page")),
      h("p", { class: "muted" }, `read ${read.query.module} · created ${read.created_time} by ${read.created_by.name}`),
      ...(result.error_message ? [h("p", { class: "error" }, result.error_message.message)] : []));
    resources.replaceChildren();
    if (!final) {
      if (!actions.querySelector("#cancel")) {
        actions.replaceChildren(h("button", { class: "danger", id: "cancel", type: "button", onclick: cancel }, "Cancel job"));
      }
    } else if (!finalShown) {
      finalShown = true;
      announce(`Job ${state.state}`);
      actions.replaceChildren(...(result.download_url
        ? [h("button", { type: "button", id: "download-result", onclick: () => fetchAndSave(result.download_url) }, "Download export")]
        : []));
    }
    return final;
  }

  /** An undo job: what it undoes, records deleted, restored and left alone, its result. */
  function renderUndo() {
    const final = FINAL.includes(state.state);
    const total = counts(state);
    summary.replaceChildren(
      h("p", {}, "State ", h("span", { id: "state" }, badge(state.state)), " ", h("span", { class: "muted" }, `(Zoho status ${state.status})`)),
      h("p", { id: "undo-of" }, "Undo of job ", h("a", { href: `#/job/${encodeURIComponent(state.undo_of)}` }, state.undo_of)),
      h("div", { class: "counts" },
        h("div", {}, h("strong", { id: "count-deleted" }, String(total.added)), "deleted"),
        h("div", {}, h("strong", { id: "count-restored" }, String(total.updated)), "restored"),
        h("div", {}, h("strong", { id: "count-conflicts" }, String(total.skipped)), "left alone (changed since the job)")),
      ...(state.error ? [h("p", { class: "error" }, state.error)] : []));
    resources.replaceChildren();
    if (!final) {
      if (!actions.querySelector("#cancel")) {
        actions.replaceChildren(h("button", { class: "danger", id: "cancel", type: "button", onclick: cancel }, "Cancel job"));
      }
    } else if (!finalShown) {
      finalShown = true;
      announce(`Job ${state.state}`);
      const url = state.result && state.result.download_url;
      actions.replaceChildren(...(url
        ? [h("button", { type: "button", id: "download-result", onclick: () => fetchAndSave(url) }, "Download result")]
        : []));
    }
    return final;
  }

  /** Reads the job and its details afresh and shows them; true once the job is final. */
  async function render() {
    state = await call("GET", `/bulkwrite/v1/jobs/${path}`);
    if (state.kind === "read") return renderRead();
    if (state.kind === "undo") return renderUndo();
    details = await call("GET", `/crm/bulk/v2/write/${path}`);
    renderSummary();
    renderResources();
    const final = FINAL.includes(state.state);
    if (!final) {
      if (!actions.querySelector("#cancel")) {
        actions.replaceChildren(h("button", { class: "danger", id: "cancel", type: "button", onclick: cancel }, "Cancel job"));
      }
    } else if (!finalShown) {
      finalShown = true;
      announce(`Job ${state.state}`);
      await showFinal(details, state);
    }
    return final;
  }

  /** One event of the job's stream: its state and counts move the page on; the last one reads
   *  the job's details (result, resources) once more. */
  async function onEvent(name, doc) {
    if (finalShown) return;
    if (name === "end") {
      await render();
      return;
    }
    state = { ...state, state: doc.state, status: doc.status, error: doc.error, resources: doc.resources };
    if (state.kind === "read") await renderRead();
    else if (state.kind === "undo") renderUndo();
    else renderSummary();
  }

  async function showFinal(details, state) {
    const buttons = [];
    if (details.result && details.result.download_url) {
      buttons.push(h("button", { type: "button", id: "download-result", onclick: () => fetchAndSave(details.result.download_url) }, "Download result"));
      buttons.push(h("button", { type: "button", class: "secondary", id: "download-report",
        onclick: () => fetchAndSave(`/bulkwrite/v1/jobs/${path}/report?format=csv`) }, "Download full report"));
    } else if (state.result_expired) {
      buttons.push(h("p", { class: "muted" }, "The result file has expired."));
    }
    const total = counts(state);
    if (!state.dry_run && !state.result_expired && total.added + total.updated > 0) {
      buttons.push(h("button", { type: "button", class: "secondary", id: "undo", onclick: undo }, "Undo job"));
    }
    actions.replaceChildren(...buttons);
    if (details.result && details.result.download_url) {
      try {
        const { blob } = await download(details.result.download_url);
        let report = null;
        try {
          report = reportLines(await (await download(`/bulkwrite/v1/jobs/${path}/report?format=jsonl`)).blob.text());
        } catch (error) {
          report = null; // no sentences: the report needs the upload, which retention may have removed
        }
        errors.replaceChildren(await errorsSection(blob, report));
      } catch (error) {
        errors.replaceChildren(h("p", { class: "error" }, `The result file could not be read: ${error.message}`));
      }
    }
  }

  async function fetchAndSave(url) {
    message.textContent = "";
    try {
      const { blob, name } = await download(url);
      saveBlob(blob, name);
      announce(`Downloaded ${name}`);
    } catch (error) {
      message.textContent = `Download failed: ${error.message}`;
    }
  }

  /** Queues an undo of this job and opens the undo's page (a refusal says why). */
  async function undo() {
    message.textContent = "";
    const button = actions.querySelector("#undo");
    if (button) button.disabled = true;
    try {
      const queued = await call("POST", `/bulkwrite/v1/jobs/${path}/undo`);
      announce("Undo queued");
      location.hash = `#/job/${encodeURIComponent(queued.id)}`;
    } catch (error) {
      message.textContent = `Undo refused: ${error.message}`;
      if (button) button.disabled = false;
    }
  }

  async function cancel() {
    message.textContent = "";
    const button = actions.querySelector("#cancel");
    if (button) button.disabled = true;
    try {
      await call("POST", `/bulkwrite/v1/jobs/${path}/cancel`);
      announce("Cancel requested");
    } catch (error) {
      message.textContent = `Cancel failed: ${error.message}`;
      if (button) button.disabled = false;
    }
    // The stream brings the cancelled state; without one, read it now.
    if (!following) await render();
  }

  async function poll() {
    try {
      if (!(await render())) timer = setTimeout(poll, POLL_MS);
    } catch (error) {
      message.textContent = error.message;
    }
  }

  if (!(await render())) {
    following = true;
    follow(`/bulkwrite/v1/jobs/${path}/events`, onEvent, { signal: stop.signal }).then(async (outcome) => {
      following = false;
      if (stop.signal.aborted) return;
      if (outcome === "ended" && finalShown) return;
      poll();
    });
  }
  return () => { stop.abort(); clearTimeout(timer); };
}
