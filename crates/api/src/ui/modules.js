// The org's modules and, for one module, its fields (the settings APIs).

import { h, pageView } from "./dom.js";
import { call } from "./api.js";

/** Shows the modules, or one module's fields; answers the function that leaves the page. */
export async function modulesPage(apiName) {
  const view = pageView();
  if (!apiName) {
    const modules = (await call("GET", "/crm/v2/settings/modules")).modules;
    view.show(h("h1", {}, "Modules"), h("div", { class: "table-wrap" }, h("table", { id: "modules" },
      h("thead", {}, h("tr", {}, h("th", {}, "API name"), h("th", {}, "Label"), h("th", { class: "hide-narrow" }, "Id"))),
      h("tbody", {}, modules.map((m) => h("tr", {},
        h("td", {}, h("a", { href: `#/modules/${encodeURIComponent(m.api_name)}` }, m.api_name)),
        h("td", {}, m.plural_label || m.module_name),
        h("td", { class: "hide-narrow" }, h("code", {}, m.id))))))));
    return () => {};
  }
  const body = await call("GET", `/crm/v2/settings/fields?module=${encodeURIComponent(apiName)}`);
  const fields = (body && body.fields) || [];
  view.show(h("h1", {}, `Fields of ${apiName}`), h("p", {}, h("a", { href: "#/modules" }, "All modules")),
    h("div", { class: "table-wrap" }, h("table", { id: "fields" },
      h("thead", {}, h("tr", {}, h("th", {}, "API name"), h("th", {}, "Label"), h("th", {}, "Type"), h("th", {}, "Mandatory"),
        h("th", { class: "hide-narrow" }, "Unique"))),
      h("tbody", {}, fields.map((f) => h("tr", {},
        h("td", {}, h("code", {}, f.api_name)), h("td", {}, f.field_label), h("td", {}, f.data_type),
        h("td", {}, f.system_mandatory ? "yes" : ""),
        h("td", { class: "hide-narrow" }, f.unique && Object.keys(f.unique).length ? "yes" : "")))))));
  return () => {};
}
