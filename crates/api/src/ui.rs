//! The browser dashboard at `/bulkwrite/ui/`: hand-written HTML, CSS and JavaScript modules
//! embedded in the binary (no CDN, no build step). The page signs in (a pasted access token or
//! the org's OAuth consent flow) and then calls the same JSON APIs any client calls; this module
//! only serves files and holds no SQL.

use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bulkwrite_wire::ErrorCode;

use crate::error::ErrorResponse;
use crate::paths::PathParams;
use crate::AppState;

/// Where the dashboard lives.
pub const UI_PATH: &str = "/bulkwrite/ui/";

/// The page's own policy: everything from this origin, nothing inline, no frames.
const POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// One embedded file: its name under [`UI_PATH`], media type and bytes.
struct Asset {
    name: &'static str,
    media_type: &'static str,
    body: &'static str,
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file of the dashboard.
const ASSETS: &[Asset] = &[
    Asset { name: "index.html", media_type: "text/html; charset=utf-8", body: include_str!("ui/index.html") },
    Asset { name: "style.css", media_type: "text/css; charset=utf-8", body: include_str!("ui/style.css") },
    Asset { name: "app.js", media_type: JS, body: include_str!("ui/app.js") },
    Asset { name: "api.js", media_type: JS, body: include_str!("ui/api.js") },
    Asset { name: "signin.js", media_type: JS, body: include_str!("ui/signin.js") },
    Asset { name: "jobs.js", media_type: JS, body: include_str!("ui/jobs.js") },
    Asset { name: "job.js", media_type: JS, body: include_str!("ui/job.js") },
    Asset { name: "importer.js", media_type: JS, body: include_str!("ui/importer.js") },
    Asset { name: "modules.js", media_type: JS, body: include_str!("ui/modules.js") },
    Asset { name: "errors.js", media_type: JS, body: include_str!("ui/errors.js") },
    Asset { name: "lint.js", media_type: JS, body: include_str!("ui/lint.js") },
    Asset { name: "csv.js", media_type: JS, body: include_str!("ui/csv.js") },
    Asset { name: "zip.js", media_type: JS, body: include_str!("ui/zip.js") },
    Asset { name: "dom.js", media_type: JS, body: include_str!("ui/dom.js") },
];

/// The dashboard's routes, merged into the API router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/bulkwrite/ui", get(to_index))
        .route("/bulkwrite/ui/", get(index))
        .route("/bulkwrite/ui/{file}", get(asset))
}

/// `GET /bulkwrite/ui`: the page lives under the slash, so relative module paths resolve.
async fn to_index() -> Response {
    let mut response = StatusCode::MOVED_PERMANENTLY.into_response();
    response.headers_mut().insert(LOCATION, HeaderValue::from_static(UI_PATH));
    response
}

/// `GET /bulkwrite/ui/`: the page.
async fn index() -> Response {
    serve(&ASSETS[0])
}

/// `GET /bulkwrite/ui/{file}`: one embedded file, or Zoho's `INVALID_URL_PATTERN`.
async fn asset(PathParams(file): PathParams<String>) -> Result<Response, ErrorResponse> {
    find(&file).map(serve).ok_or_else(|| ErrorCode::InvalidUrlPattern.into())
}

fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|asset| asset.name == name)
}

fn serve(asset: &Asset) -> Response {
    let mut response = asset.body.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(asset.media_type));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_the_page_imports_is_served() {
        for asset in ASSETS.iter().filter(|asset| asset.name.ends_with(".js")) {
            for line in asset.body.lines().filter(|line| line.starts_with("import ")) {
                let from = line.split("from \"./").nth(1).and_then(|rest| rest.split('"').next());
                let name = from.unwrap_or_else(|| panic!("{}: import without ./ path: {line}", asset.name));
                assert!(find(name).is_some(), "{} imports {name}, which is not embedded", asset.name);
            }
        }
        assert!(find("index.html").unwrap().body.contains("src=\"app.js\""));
    }

    #[test]
    fn unknown_names_are_not_found() {
        assert!(find("../Cargo.toml").is_none());
        assert!(find("secret").is_none());
        assert_eq!(find("app.js").unwrap().media_type, JS);
    }
}
