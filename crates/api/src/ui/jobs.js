// The jobs list (Bulk Write and Bulk Read): filters by status, module and operation, and
// refreshes while jobs are live.

import { h, show, badge } from "./dom.js";
import { call } from "./api.js";

const POLL_MS = 2000;
const STATUSES = ["", "ADDED", "IN PROGRESS", "COMPLETED", "FAILED"];
const OPERATIONS = ["", "insert", "update", "upsert", "read"];

function select(id, values, current) {
  return h("select", { id }, values.map((value) => h("option", { value, selected: value === current }, value || "any")));
}

function table(jobs) {
  if (jobs.length === 0) return h("p", { class: "muted", id: "no-jobs" }, "No jobs match.");
  return h("div", { class: "table-wrap" }, h("table", { id: "jobs" },
    h("thead", {}, h("tr", {}, h("th", {}, "Job"), h("th", {}, "State"), h("th", {}, "Module"),
      h("th", { class: "hide-narrow" }, "Operation"), h("th", {}, "Rows"), h("th", { class: "hide-narrow" }, "Created"))),
    h("tbody", {}, jobs.map((job) => h("tr", { "data-job": job.id },
      h("td", {}, h("a", { href: `#/job/${encodeURIComponent(job.id)}` }, job.id)),
      h("td", {}, badge(job.state)),
      h("td", {}, job.modules.join(", ")),
      h("td", { class: "hide-narrow" }, job.operation),
      h("td", {}, job.kind === "read" ? `${job.counts.total} exported`
        : `${job.counts.added + job.counts.updated} ok, ${job.counts.skipped} skipped`),
      h("td", { class: "hide-narrow" }, job.created_time))))));
}

/** Shows the list; answers the function that stops its refreshing. */
export async function jobsPage() {
  const modules = (await call("GET", "/crm/v2/settings/modules")).modules.map((m) => m.api_name);
  const filters = { status: select("f-status", STATUSES, ""), module: select("f-module", ["", ...modules], ""),
    operation: select("f-operation", OPERATIONS, "") };
  const holder = h("div", { id: "jobs-holder" });
  let timer = null;
  let stopped = false;

  async function refresh() {
    clearTimeout(timer);
    const query = new URLSearchParams({ per_page: "50" });
    for (const [name, input] of Object.entries(filters)) if (input.value) query.set(name, input.value);
    try {
      const body = await call("GET", `/bulkwrite/v1/jobs?${query}`);
      holder.replaceChildren(table(body.jobs));
      const live = body.jobs.some((job) => job.status === "ADDED" || job.status === "IN PROGRESS");
      if (live && !stopped) timer = setTimeout(refresh, POLL_MS);
    } catch (error) {
      holder.replaceChildren(h("p", { class: "error" }, error.message));
    }
  }

  for (const input of Object.values(filters)) input.addEventListener("change", refresh);
  show(h("h1", {}, "Jobs"),
    h("form", { class: "card row", role: "search", onsubmit: (event) => { event.preventDefault(); refresh(); } },
      h("div", {}, h("label", { for: "f-status" }, "Status"), filters.status),
      h("div", {}, h("label", { for: "f-module" }, "Module"), filters.module),
      h("div", {}, h("label", { for: "f-operation" }, "Operation"), filters.operation),
      h("div", {}, h("button", { type: "submit", class: "secondary" }, "Refresh")),
      h("div", {}, h("a", { class: "button", href: "#/import" }, "New import"))),
    holder);
  await refresh();
  return () => { stopped = true; clearTimeout(timer); };
}
