// The jobs list: filters by status, module and operation, kept live by the org's event stream
// (GET /bulkwrite/v1/events): a job's row changes in place as it moves, a new job re-reads the
// list once. Only a server that refuses the stream is polled.

import { h, pageView, badge, announce } from "./dom.js";
import { call, follow } from "./api.js";

const POLL_MS = 2000;
const STATUSES = ["", "ADDED", "IN PROGRESS", "COMPLETED", "FAILED"];
const OPERATIONS = ["", "insert", "update", "upsert"];
const RANK = { QUEUED: 0, RUNNING: 1 };

function select(id, values, current) {
  return h("select", { id }, values.map((value) => h("option", { value, selected: value === current }, value || "any")));
}

function rowsText(counts) {
  return `${counts.added + counts.updated} ok, ${counts.skipped} skipped`;
}

function jobRow(job) {
  return h("tr", { "data-job": job.id, "data-state": job.state },
    h("td", {}, h("a", { href: `#/job/${encodeURIComponent(job.id)}` }, job.id), job.dry_run ? h("span", { class: "muted" }, " (dry run)") : null),
    h("td", { class: "state" }, badge(job.state)),
    h("td", { class: "hide-narrow" }, job.modules.join(", ")),
    h("td", { class: "hide-narrow" }, job.operation),
    h("td", { class: "rows" }, rowsText(job.counts)),
    h("td", { class: "hide-narrow" }, job.created_time));
}

function table(jobs) {
  if (jobs.length === 0) return h("p", { class: "muted", id: "no-jobs" }, "No jobs match.");
  return h("div", { class: "table-wrap" }, h("table", { id: "jobs" },
    h("thead", {}, h("tr", {}, h("th", {}, "Job"), h("th", {}, "State"), h("th", { class: "hide-narrow" }, "Module"),
      h("th", { class: "hide-narrow" }, "Operation"), h("th", {}, "Rows"), h("th", { class: "hide-narrow" }, "Created"))),
    h("tbody", {}, jobs.map(jobRow))));
}

/** Shows the list; answers the function that stops following it. */
export async function jobsPage() {
  const view = pageView();
  const modules = (await call("GET", "/crm/v2/settings/modules")).modules.map((m) => m.api_name);
  const filters = { status: select("f-status", STATUSES, ""), module: select("f-module", ["", ...modules], ""),
    operation: select("f-operation", OPERATIONS, "") };
  const holder = h("div", { id: "jobs-holder" });
  const live = h("p", { class: "muted", id: "live-note" });
  const stop = new AbortController();
  let timer = null;
  let shown = null; // the jobs on screen, by id: {row, processed, rank}
  let reading = null; // the list read in flight
  let again = false; // read once more when this read is done
  let pending = []; // events that came while the list was read

  function matches(doc) {
    return (!filters.status.value || doc.status === filters.status.value)
      && (!filters.module.value || doc.modules.includes(filters.module.value))
      && (!filters.operation.value || doc.operation === filters.operation.value);
  }

  /** Changes a shown job's row to `doc`, unless `doc` is older than what the row shows. */
  function update(entry, doc) {
    const rank = RANK[doc.state] ?? 2;
    if (rank < entry.rank || (rank === entry.rank && doc.processed < entry.processed)) return;
    entry.rank = rank;
    entry.processed = doc.processed;
    entry.row.dataset.state = doc.state;
    entry.row.querySelector(".state").replaceChildren(badge(doc.state));
    entry.row.querySelector(".rows").textContent = rowsText(doc);
    if (rank === 2) announce(`Job ${doc.id} ${doc.state}`);
  }

  /** Shows one job's event; true when the list must be read again (a job it lacks, or one
   *  that no longer matches the filters). */
  function apply(doc) {
    const entry = shown.get(doc.id);
    if (entry && matches(doc)) {
      update(entry, doc);
      return false;
    }
    return Boolean(entry) || matches(doc);
  }

  async function readList() {
    const query = new URLSearchParams({ per_page: "50" });
    for (const [name, input] of Object.entries(filters)) if (input.value) query.set(name, input.value);
    try {
      const body = await call("GET", `/bulkwrite/v1/jobs?${query}`);
      holder.replaceChildren(table(body.jobs));
      shown = new Map();
      for (const job of body.jobs) {
        const row = holder.querySelector(`tr[data-job="${job.id}"]`);
        shown.set(job.id, { row, processed: job.counts.total, rank: RANK[job.state] ?? 2 });
      }
    } catch (error) {
      holder.replaceChildren(h("p", { class: "error" }, error.message));
      shown = shown || new Map();
    }
  }

  /** Reads the list, one read at a time; then shows the events that came meanwhile, and reads
   *  again only if one names a job the list lacks (it was queued after the read). */
  async function refresh() {
    if (reading) {
      again = true;
      return reading;
    }
    reading = (async () => {
      do {
        again = false;
        await readList();
        const came = pending;
        pending = [];
        for (const doc of came) if (apply(doc)) again = true;
      } while (again && !stop.signal.aborted);
    })();
    try { await reading; } finally { reading = null; }
  }

  async function onEvent(name, doc) {
    if (name === "resync") refresh();
    else if (name !== "job") return;
    else if (reading || !shown) pending.push(doc);
    else if (apply(doc)) refresh();
  }

  async function poll() {
    await refresh();
    if (!stop.signal.aborted) timer = setTimeout(poll, POLL_MS);
  }

  for (const input of Object.values(filters)) input.addEventListener("change", refresh);
  view.show(h("h1", {}, "Jobs"),
    h("form", { class: "card row", role: "search", onsubmit: (event) => { event.preventDefault(); refresh(); } },
      h("div", {}, h("label", { for: "f-status" }, "Status"), filters.status),
      h("div", {}, h("label", { for: "f-module" }, "Module"), filters.module),
      h("div", {}, h("label", { for: "f-operation" }, "Operation"), filters.operation),
      h("div", {}, h("button", { type: "submit", class: "secondary" }, "Refresh")),
      h("div", {}, h("a", { class: "button", href: "#/import" }, "New import"))),
    holder, live);
  // The stream opens before the list is read, so no change between the two is lost.
  let streaming = false;
  await new Promise((resolve) => {
    const opened = () => { streaming = true; resolve(); };
    follow("/bulkwrite/v1/events", onEvent, { signal: stop.signal, opened }).then(() => {
      streaming = false;
      resolve();
      if (stop.signal.aborted) return;
      live.textContent = "Live updates stopped; the list is read again every few seconds.";
      poll();
    });
  });
  if (streaming) {
    live.textContent = "Live: states and counts change as jobs run.";
    await refresh();
  }
  return () => { stop.abort(); clearTimeout(timer); };
}
