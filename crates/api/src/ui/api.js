// The JSON APIs the dashboard calls, with the signed-in access token; errors become sentences.

const TOKEN_KEY = "bulkwrite.token";

/** The access token of this tab, if signed in. */
export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** Keeps (or, with null, forgets) the access token for this tab. */
export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** A failed call: the HTTP status and Zoho's code, message and details. */
export class ApiFailure extends Error {
  constructor(status, body) {
    const code = body && (body.code || (body.data && body.data[0] && body.data[0].code) || body.error);
    const message = body && (body.message || (body.data && body.data[0] && body.data[0].message));
    super(`${code || "HTTP " + status}${message ? ": " + message : ""}`);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

/** Calls the API; answers the parsed JSON (null for an empty answer) or throws [`ApiFailure`]. */
export async function call(method, path, { json, form, headers = {} } = {}) {
  const init = { method, headers: { ...headers } };
  if (token()) init.headers.Authorization = `Zoho-oauthtoken ${token()}`;
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (form !== undefined) {
    init.body = form;
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let body = null;
  if (text) {
    try { body = JSON.parse(text); } catch { body = { message: text.slice(0, 200) }; }
  }
  if (!response.ok) throw new ApiFailure(response.status, body);
  return body;
}

/** Downloads with the token; answers the bytes and the file name the server gave. */
export async function download(path) {
  const response = await fetch(path, { headers: { Authorization: `Zoho-oauthtoken ${token()}` } });
  if (!response.ok) {
    let body = null;
    try { body = await response.json(); } catch { body = null; }
    throw new ApiFailure(response.status, body);
  }
  const disposition = response.headers.get("content-disposition") || "";
  const name = (disposition.match(/filename="?([^";]+)"?/) || [])[1] || "download";
  return { blob: await response.blob(), name };
}

/**
 * Follows a Server-Sent Events stream with the token: calls `opened()` once the server accepted
 * it, then `onEvent(name, data)` for each event, one at a time and in order. Answers `"ended"`
 * when the server closed the stream, `"refused"` when it does not offer it (`failure` holds the
 * status), `"failed"` when the connection broke, `"aborted"` when `signal` stopped it.
 */
export async function follow(path, onEvent, { signal, opened = () => {} } = {}) {
  let response;
  try {
    response = await fetch(path, { headers: { Authorization: `Zoho-oauthtoken ${token()}`, Accept: "text/event-stream" }, signal });
  } catch (error) {
    return signal && signal.aborted ? "aborted" : "failed";
  }
  if (!response.ok || !(response.headers.get("content-type") || "").startsWith("text/event-stream")) {
    try { await response.body.cancel(); } catch { /* nothing to read */ }
    return "refused";
  }
  opened();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return "ended";
      buffered += value.replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffered.indexOf("\n\n")) >= 0) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        let name = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) name = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        }
        if (data.length) await onEvent(name, JSON.parse(data.join("\n")));
      }
    }
  } catch (error) {
    return signal && signal.aborted ? "aborted" : "failed";
  }
}

let orgCache = null;

/** The signed-in org (`GET /crm/v2/org`), read once per page load. */
export async function org() {
  if (!orgCache) orgCache = (await call("GET", "/crm/v2/org")).org[0];
  return orgCache;
}

/** Forgets what was read for the last token. */
export function forget() {
  orgCache = null;
}
