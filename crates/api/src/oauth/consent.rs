//! The consent page of `GET /oauth/v2/auth`: a user of the client's org signs in with email and
//! password and accepts (or denies) the scopes; accepting redirects with a one-time grant code.

use std::collections::HashMap;

/// What the authorization request asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRequest {
    /// The client asking.
    pub client_id: String,
    /// The scopes asked for, as sent.
    pub scope: String,
    /// Where the grant code goes; must be one of the client's redirect URIs.
    pub redirect_uri: String,
    /// The client's opaque value, sent back with the code.
    pub state: Option<String>,
    /// `offline` (a refresh token too) or `online`.
    pub access_type: String,
}

impl ConsentRequest {
    /// Reads the query (`GET`) or form (`POST`) parameters.
    pub fn read(params: &HashMap<String, String>) -> Result<ConsentRequest, &'static str> {
        let get = |name: &str| params.get(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        if get("response_type").as_deref().is_some_and(|t| t != "code") {
            return Err("response_type must be code");
        }
        Ok(ConsentRequest {
            client_id: get("client_id").ok_or("client_id is missing")?,
            scope: get("scope").ok_or("scope is missing")?,
            redirect_uri: get("redirect_uri").ok_or("redirect_uri is missing")?,
            state: params.get("state").cloned(),
            access_type: get("access_type").unwrap_or_else(|| "online".to_string()),
        })
    }

    /// The redirect target with the given query pairs (and `state` when the request had one).
    pub fn redirect_with(&self, pairs: &[(&str, &str)]) -> String {
        let mut all: Vec<(&str, &str)> = pairs.to_vec();
        if let Some(state) = &self.state {
            all.push(("state", state));
        }
        let query = serde_urlencoded::to_string(&all).unwrap_or_default();
        let separator = if self.redirect_uri.contains('?') { '&' } else { '?' };
        format!("{}{separator}{query}", self.redirect_uri)
    }
}

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#222}\
h1{font-size:1.3rem}ul{padding-left:1.2rem}label{display:block;margin:.6rem 0 .2rem}\
input[type=email],input[type=password]{width:100%;padding:.4rem;box-sizing:border-box}\
.buttons{margin-top:1rem;display:flex;gap:.6rem}button{padding:.5rem 1.2rem}.error{color:#b00020}";

/// The sign-in-and-consent form.
pub fn consent_page(request: &ConsentRequest, client_name: &str, company: &str, error: Option<&str>) -> String {
    let scopes: String = request
        .scope
        .split([',', ' '])
        .filter(|s| !s.is_empty())
        .map(|s| format!("<li><code>{}</code></li>", escape(s)))
        .collect();
    let hidden: String = [
        ("client_id", request.client_id.as_str()),
        ("scope", request.scope.as_str()),
        ("redirect_uri", request.redirect_uri.as_str()),
        ("state", request.state.as_deref().unwrap_or("")),
        ("access_type", request.access_type.as_str()),
        ("response_type", "code"),
    ]
    .iter()
    .map(|(name, value)| format!("<input type=\"hidden\" name=\"{name}\" value=\"{}\">", escape(value)))
    .collect();
    let error = error.map(|e| format!("<p class=\"error\">{}</p>", escape(e))).unwrap_or_default();
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\"><title>Authorize {client}</title><style>{STYLE}</style></head><body>\
         <h1>{client} would like to access {company}</h1><p>It asks for these scopes:</p><ul>{scopes}</ul>{error}\
         <form method=\"post\" action=\"/oauth/v2/auth\">{hidden}\
         <label for=\"email\">Email</label><input id=\"email\" type=\"email\" name=\"email\" required>\
         <label for=\"password\">Password</label><input id=\"password\" type=\"password\" name=\"password\">\
         <div class=\"buttons\"><button name=\"decision\" value=\"accept\" type=\"submit\">Accept</button>\
         <button name=\"decision\" value=\"deny\" type=\"submit\" formnovalidate>Deny</button></div></form>\
         <p><small>bulkwrite — a self-hosted stand-in for Zoho Accounts.</small></p></body></html>",
        client = escape(client_name),
        company = escape(company),
    )
}

/// A page that explains why the authorization request cannot go on.
pub fn error_page(message: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\"><title>Authorization failed</title><style>{STYLE}</style></head>\
         <body><h1>This authorization request cannot be completed</h1><p class=\"error\">{}</p></body></html>",
        escape(message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(state: Option<&str>) -> ConsentRequest {
        ConsentRequest {
            client_id: "1000.X".into(),
            scope: "ZohoCRM.bulk.ALL,ZohoFiles.files.ALL".into(),
            redirect_uri: "https://app.example.com/cb".into(),
            state: state.map(str::to_string),
            access_type: "offline".into(),
        }
    }

    #[test]
    fn redirects_keep_state_and_escape_values() {
        assert_eq!(
            request(Some("a b|c")).redirect_with(&[("code", "1000.x")]),
            "https://app.example.com/cb?code=1000.x&state=a+b%7Cc"
        );
        assert_eq!(
            request(None).redirect_with(&[("error", "access_denied")]),
            "https://app.example.com/cb?error=access_denied"
        );
    }

    #[test]
    fn the_page_escapes_what_it_echoes() {
        let page = consent_page(&request(Some("\"><script>")), "<App>", "Org", Some("bad <password>"));
        assert!(page.contains("&lt;App&gt;"));
        assert!(page.contains("&quot;&gt;&lt;script&gt;"));
        assert!(!page.contains("<script>"));
        assert!(page.contains("<li><code>ZohoFiles.files.ALL</code></li>"));
    }
}
