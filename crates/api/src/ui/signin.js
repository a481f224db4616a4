// Signing in: paste an access token, or go through the org's OAuth consent page with a web
// client whose redirect URI is this page, and trade the grant code for a token here.

import { h } from "./dom.js";
import { call, setToken, forget } from "./api.js";

const SCOPES = "ZohoCRM.bulk.ALL,ZohoFiles.files.ALL,ZohoCRM.settings.ALL,ZohoCRM.org.ALL,ZohoCRM.users.ALL";
const PENDING_KEY = "bulkwrite.oauth";

/** This page's address, the redirect URI a dashboard client registers. */
function redirectUri() {
  return `${location.origin}/bulkwrite/ui/`;
}

/** The sign-in page's content. */
export function signInPage() {
  const tokenInput = h("input", { id: "token", type: "password", autocomplete: "off", required: true, size: 40 });
  const tokenError = h("p", { class: "error", id: "token-error", role: "alert" });
  const tokenForm = h("form", {
    class: "card", id: "token-form",
    onsubmit: async (event) => {
      event.preventDefault();
      tokenError.textContent = "";
      setToken(tokenInput.value.trim());
      forget();
      try {
        await call("GET", "/bulkwrite/v1/jobs?per_page=1");
        if (location.hash === "#/jobs") window.dispatchEvent(new HashChangeEvent("hashchange"));
        else location.hash = "#/jobs";
      } catch (error) {
        setToken(null);
        tokenError.textContent = `That token was not accepted: ${error.message}`;
      }
    },
  },
  h("h2", {}, "With an access token"),
  h("label", { for: "token" }, "Access token"), tokenInput, tokenError,
  h("button", { type: "submit" }, "Sign in"));

  const clientId = h("input", { id: "client-id", autocomplete: "off", required: true, size: 30 });
  const clientSecret = h("input", { id: "client-secret", type: "password", autocomplete: "off", required: true, size: 30 });
  const oauthForm = h("form", {
    class: "card", id: "oauth-form",
    onsubmit: (event) => {
      event.preventDefault();
      const state = crypto.randomUUID();
      sessionStorage.setItem(PENDING_KEY, JSON.stringify({ state, id: clientId.value.trim(), secret: clientSecret.value }));
      const query = new URLSearchParams({
        response_type: "code", client_id: clientId.value.trim(), scope: SCOPES,
        redirect_uri: redirectUri(), access_type: "online", state,
      });
      location.assign(`/oauth/v2/auth?${query}`);
    },
  },
  h("h2", {}, "With your org account"),
  h("p", { class: "muted" }, "Uses a web client registered with the redirect URI ", h("code", {}, redirectUri()),
    " (bulkwrite admin client … --redirect-uri). You sign in with your email and password on the consent page."),
  h("label", { for: "client-id" }, "Client ID"), clientId,
  h("label", { for: "client-secret" }, "Client secret"), clientSecret,
  h("p", {}, h("button", { type: "submit" }, "Continue to sign-in")));

  return [h("h1", {}, "Sign in to bulkwrite"), tokenForm, oauthForm];
}

/** Completes an OAuth round trip when this load carries `?code=` (or `?error=`). */
export async function finishOAuth() {
  const params = new URLSearchParams(location.search);
  if (!params.has("code") && !params.has("error")) return;
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) || "null");
  sessionStorage.removeItem(PENDING_KEY);
  history.replaceState(null, "", `${location.pathname}#/jobs`);
  if (params.has("error")) throw new Error(`The sign-in was not completed: ${params.get("error")}.`);
  if (!pending || pending.state !== params.get("state")) throw new Error("The sign-in answer does not match a sign-in started here.");
  const form = new URLSearchParams({
    grant_type: "authorization_code", client_id: pending.id, client_secret: pending.secret,
    redirect_uri: redirectUri(), code: params.get("code"),
  });
  const answer = await call("POST", "/oauth/v2/token", { form });
  if (!answer || !answer.access_token) throw new Error(`The token endpoint answered ${answer && answer.error}.`);
  setToken(answer.access_token);
  forget();
}
