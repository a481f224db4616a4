//! Org metadata: modules, fields, layouts and users, as Zoho's settings and users APIs answer
//! them. The answers are returned as JSON documents (their shapes differ between API versions);
//! `bulkwrite lint` feeds them to the schema mirror of `bulkwrite-core`.

use serde_json::Value;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::transport::{read_json, Safety};

impl Client {
    /// `GET /crm/{v}/{path}?query`, decoded as JSON; `None` for an empty answer (HTTP 204).
    /// `path` is relative to the version, e.g. `settings/fields`.
    pub async fn get_json(&self, path: &str, query: &[(&str, &str)]) -> Result<Option<Value>> {
        if path.starts_with('/') || path.contains("..") {
            return Err(Error::Invalid(format!("'{path}' must be a path relative to /crm/{{version}}/")));
        }
        let url = self.inner.api_url(&format!("/crm/{}/{path}", self.version()));
        let build = |http: &reqwest::Client| Ok(http.get(&url).query(query));
        let response = self.inner.send(Safety::Idempotent, true, build).await?;
        read_json(response).await
    }

    /// `GET /crm/{v}/settings/modules`.
    pub async fn modules(&self) -> Result<Value> {
        Ok(self.get_json("settings/modules", &[]).await?.unwrap_or(Value::Null))
    }

    /// `GET /crm/{v}/settings/fields?module=…`.
    pub async fn fields(&self, module: &str) -> Result<Value> {
        Ok(self.get_json("settings/fields", &[("module", module)]).await?.unwrap_or(Value::Null))
    }

    /// `GET /crm/{v}/settings/layouts?module=…`.
    pub async fn layouts(&self, module: &str) -> Result<Value> {
        Ok(self.get_json("settings/layouts", &[("module", module)]).await?.unwrap_or(Value::Null))
    }

    /// Every active user: `GET /crm/{v}/users?type=ActiveUsers`, all pages.
    pub async fn active_users(&self) -> Result<Vec<Value>> {
        let mut users = Vec::new();
        for page in 1.. {
            let page_text = page.to_string();
            let query = [("type", "ActiveUsers"), ("page", page_text.as_str()), ("per_page", "200")];
            let Some(answer) = self.get_json("users", &query).await? else { break };
            if let Some(list) = answer.get("users").and_then(Value::as_array) {
                users.extend(list.iter().cloned());
            }
            let more = answer.pointer("/info/more_records").and_then(Value::as_bool).unwrap_or(false);
            if !more {
                break;
            }
        }
        Ok(users)
    }
}
