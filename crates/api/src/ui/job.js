// One job: state, progress and counts live (the job's event stream when the server offers it,
// polling otherwise), its resources, cancel, downloads of the result and report, and its errors.

import { h, show, badge, announce, saveBlob } from "./dom.js";
import { call, download, token } from "./api.js";
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

/** Follows the job's Server-Sent Events; calls `changed` per event. False when not offered. */
async function follow(id, changed, signal) {
  try {
    const response = await fetch(`/bulkwrite/v1/jobs/${encodeURIComponent(id)}/events`, {
      headers: { Authorization: `Zoho-oauthtoken ${token()}`, Accept: "text/event-stream" }, signal });
    if (!response.ok || !(response.headers.get("content-type") || "").startsWith("text/event-stream")) return false;
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return true;
      buffered += value;
      let end;
      while ((end = buffered.indexOf("\n\n")) >= 0) {
        const event = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        if (event.split("\n").some((line) => line.startsWith("data:"))) await changed();
      }
    }
  } catch (error) {
    return signal.aborted;
  }
}

/** Shows the job; answers the function that stops following it. */
export async function jobPage(id) {
  const path = encodeURIComponent(id);
  const stop = new AbortController();
  let timer = null;
  const heading = h("h1", {}, `Job ${id}`);
  const summary = h("div", { class: "card", id: "summary" });
  const resources = h("div", { id: "resources" });
  const actions = h("div", { class: "row", id: "actions" });
  const errors = h("div", { id: "errors-holder" });
  const message = h("p", { role: "alert", class: "error", id: "job-message" });
  show(heading, summary, actions, message, resources, errors);
  let finalShown = false;

  /** A Bulk Read job: what it exports, how many records, its download. */
  async function renderRead(state) {
    const details = (await call("GET", `/crm/bulk/v2/read/${path}`)).data[0];
    const final = FINAL.includes(state.state);
    const result = details.result || {};
    summary.replaceChildren(
      h("p", {}, "State ", h("span", { id: "state" }, badge(state.state)), " ", h("span", { class: "muted" }, `(Zoho state ${details.state})`)),
      h("div", { class: "counts" },
        h("div", {}, h("strong", { id: "count-exported" }, String(result.count ?? 0)), "records exported"),
        h("div", {}, h("strong", {}, String(details.query.page)), "page")),
      h("p", { class: "muted" }, `read ${details.query.module} · created ${details.created_time} by ${details.created_by.name}`),
      ...(result.error_message ? [h("p", { class: "error" }, result.error_message.message)] : []));
    resources.replaceChildren();
    if (!final) {
      actions.replaceChildren(h("button", { class: "danger", id: "cancel", type: "button", onclick: cancel }, "Cancel job"));
    } else if (!finalShown) {
      finalShown = true;
      announce(`Job ${state.state}`);
      actions.replaceChildren(...(result.download_url
        ? [h("button", { type: "button", id: "download-result", onclick: () => fetchAndSave(result.download_url) }, "Download export")]
        : []));
    }
    return final;
  }

  async function render() {
    const state = await call("GET", `/bulkwrite/v1/jobs/${path}`);
    if (state.kind === "read") return renderRead(state);
    const details = await call("GET", `/crm/bulk/v2/write/${path}`);
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
    resources.replaceChildren(h("h2", {}, "Resources"), h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, h("th", {}, "Module"), h("th", {}, "File"), h("th", {}, "Status"), h("th", {}, "Mapped fields"))),
      h("tbody", {}, details.resource.map((resource) => h("tr", {},
        h("td", {}, moduleName(resource)), h("td", {}, resource.file.name || "—"), h("td", {}, resource.status),
        h("td", {}, resource.field_mappings.map((m) => `${m.api_name}←${m.index ?? "default"}`).join(", "))))))));
    if (!final) {
      actions.replaceChildren(h("button", { class: "danger", id: "cancel", type: "button", onclick: cancel }, "Cancel job"));
    } else if (!finalShown) {
      finalShown = true;
      announce(`Job ${state.state}`);
      await showFinal(details, state);
    }
    return final;
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

  async function cancel() {
    message.textContent = "";
    try {
      await call("POST", `/bulkwrite/v1/jobs/${path}/cancel`);
    } catch (error) {
      message.textContent = `Cancel failed: ${error.message}`;
    }
    await render();
  }

  async function poll() {
    try {
      if (!(await render())) timer = setTimeout(poll, POLL_MS);
    } catch (error) {
      message.textContent = error.message;
    }
  }

  if (!(await render())) {
    follow(id, render, stop.signal).then(async (followed) => {
      if (stop.signal.aborted) return;
      if (followed) await render(); else poll();
    });
  }
  return () => { stop.abort(); clearTimeout(timer); };
}
