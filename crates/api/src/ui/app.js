// The dashboard's entry: hash routes to pages, the sign-in gate and the navigation.

import { h, show, beginPage, isCurrent, LeftPage } from "./dom.js";
import { token, setToken, forget } from "./api.js";
import { signInPage, finishOAuth } from "./signin.js";
import { jobsPage } from "./jobs.js";
import { jobPage } from "./job.js";
import { importPage } from "./importer.js";
import { modulesPage } from "./modules.js";

/** Stops the previous page's streams and timers when the route changes. */
let leave = () => {};

function markNav(route) {
  for (const link of document.querySelectorAll("#nav a")) {
    if (route.startsWith(link.getAttribute("href"))) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

async function route() {
  leave();
  leave = () => {};
  const mine = beginPage();
  const hash = location.hash || "#/jobs";
  const signedIn = Boolean(token());
  document.getElementById("nav").hidden = !signedIn;
  if (!signedIn) {
    show(...signInPage());
    return;
  }
  markNav(hash);
  const [, page, id] = hash.split("/");
  try {
    let stop;
    if (page === "job" && id) stop = await jobPage(decodeURIComponent(id));
    else if (page === "import") stop = await importPage();
    else if (page === "modules") stop = await modulesPage(id ? decodeURIComponent(id) : null);
    else stop = await jobsPage();
    // A page left while it was still opening stops at once.
    if (isCurrent(mine)) leave = stop;
    else stop();
  } catch (error) {
    if (error instanceof LeftPage || !isCurrent(mine)) return;
    if (error.status === 401) {
      setToken(null);
      forget();
      show(h("h1", {}, "Signed out"), h("p", { class: "error" }, `The token was refused (${error.message}).`),
        h("a", { href: "#/jobs" }, "Sign in again"));
    } else {
      show(h("h1", {}, "Something went wrong"), h("p", { class: "error" }, error.message));
    }
  }
}

document.getElementById("signout").addEventListener("click", () => {
  setToken(null);
  forget();
  location.hash = "#/jobs";
  route();
});
window.addEventListener("hashchange", route);

finishOAuth().then(route, (error) => {
  show(h("h1", {}, "Sign-in failed"), h("p", { class: "error" }, error.message), h("a", { href: "#/jobs" }, "Try again"));
});
