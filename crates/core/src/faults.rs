//! Fault rules of the test controls: what a rule is once its request is checked, which requests,
//! jobs and deliveries it matches, and whether a match fires it.
//!
//! A rule's request is [`bulkwrite_wire::faults::NewFault`]; [`FaultRule::parse`] checks it
//! (refusals are `INVALID_DATA` naming the key) and [`FaultRule::to_wire`] gives the normalised
//! form that is stored and listed (method in upper case, both `status` and `code`, the seed).
//!
//! Firing: a rule with `times` fires on its next N matches; one with `probability` fires on match
//! number k (counted from 1 across every node) when a value drawn from `seed` and k falls under
//! the probability ([`Chance::fires`]), so a run with the same seed fails the same requests;
//! both together fire on the drawn matches until N have fired; neither fires on every match.

pub use bulkwrite_wire::faults::JobFault;
use bulkwrite_wire::faults::{CallbackFault as WireCallbackFault, NewFault};
use bulkwrite_wire::{ApiError, ErrorCode};

use crate::ids::OrgId;

/// The longest delay a rule may ask for (`latency_ms`, `slow_ms`): ten minutes.
pub const MAX_DELAY_MS: u64 = 600_000;

/// Where a rule is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// The HTTP layer, before a Zoho path's handler: an error answer, a delay, or both.
    Http,
    /// The worker, at a job's chunks.
    Job,
    /// The callback dispatcher, at a delivery attempt.
    Callback,
}

impl FaultKind {
    /// The kind as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Http => "http",
            FaultKind::Job => "job",
            FaultKind::Callback => "callback",
        }
    }

    /// The stored word back; `None` for a word no kind has.
    pub fn parse(word: &str) -> Option<FaultKind> {
        match word {
            "http" => Some(FaultKind::Http),
            "job" => Some(FaultKind::Job),
            "callback" => Some(FaultKind::Callback),
            _ => None,
        }
    }
}

/// What a fired HTTP rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpFault {
    /// Answer with this Zoho error (its table status, body and headers) instead of the handler's.
    pub error: Option<ErrorCode>,
    /// Delay the answer by this many milliseconds.
    pub latency_ms: Option<u64>,
}

/// What a fired callback rule does to the attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackFault {
    /// The attempt is answered with this HTTP status.
    Status(u16),
    /// The attempt times out.
    Timeout,
}

/// What a rule does when it fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    /// At the HTTP layer.
    Http(HttpFault),
    /// To a job.
    Job(JobFault),
    /// To a callback delivery attempt.
    Callback(CallbackFault),
}

/// A seeded share of matches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Chance {
    /// The share, 0 to 1.
    pub probability: f64,
    /// What the draws are made from.
    pub seed: u64,
}

impl Chance {
    /// Whether match number `k` (from 1) fires: a uniform draw in [0, 1) made from the seed and
    /// `k` alone, under the probability.
    pub fn fires(&self, k: u64) -> bool {
        let draw = splitmix64(self.seed ^ splitmix64(k));
        let unit = (draw >> 11) as f64 / (1u64 << 53) as f64;
        unit < self.probability
    }
}

/// SplitMix64's finaliser: a fixed, well-mixed function of its input (no state).
fn splitmix64(value: u64) -> u64 {
    let mut z = value.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A path pattern: `/`-separated segments, `*` standing for any one segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPattern {
    text: String,
}

impl PathPattern {
    /// The pattern as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `path` (a request's path, without its query) has as many segments and each
    /// equals the pattern's or the pattern's is `*`. A trailing `/` on either is ignored.
    pub fn matches(&self, path: &str) -> bool {
        let pattern: Vec<&str> = segments(&self.text).collect();
        let given: Vec<&str> = segments(path).collect();
        pattern.len() == given.len() && pattern.iter().zip(&given).all(|(want, have)| *want == "*" || want == have)
    }
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.trim_start_matches('/').trim_end_matches('/').split('/')
}

/// Whether a request path is one of Zoho's, which HTTP faults may hit: not bulkwrite's own
/// (`/bulkwrite/…`, the test controls included) nor the node's health and metrics pages.
pub fn is_zoho_path(path: &str) -> bool {
    let own = path == "/bulkwrite" || path.starts_with("/bulkwrite/");
    !own && !matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// A checked fault rule.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    /// The org it is limited to; every org when `None`.
    pub org: Option<OrgId>,
    /// The method it matches, upper case (HTTP rules only); any when `None`.
    pub method: Option<String>,
    /// The path it matches (HTTP rules only); any Zoho path when `None`.
    pub path: Option<PathPattern>,
    /// What it does.
    pub action: FaultAction,
    /// It fires on this many matches at most.
    pub times: Option<u64>,
    /// It fires on a seeded share of matches.
    pub chance: Option<Chance>,
}

fn invalid(key: &str, message: impl Into<String>) -> ApiError {
    ApiError::with_message(ErrorCode::InvalidData, message)
        .detail("api_name", key)
        .detail("json_path", format!("$.{key}"))
}

impl FaultRule {
    /// Checks a rule's request. `seed` is the seed of a `probability` given without one.
    pub fn parse(request: &NewFault, seed: u64) -> Result<FaultRule, ApiError> {
        let action = parse_action(request)?;
        let http = matches!(action, FaultAction::Http(_));
        if !http {
            for (key, given) in [("method", request.method.is_some()), ("path", request.path.is_some())] {
                if given {
                    return Err(invalid(key, format!("{key} applies to HTTP faults only (status, code, latency_ms)")));
                }
            }
        }
        let org = match &request.org {
            None => None,
            Some(text) => {
                Some(OrgId::parse(text.trim()).ok_or_else(|| invalid("org", format!("'{text}' is not an org id")))?)
            }
        };
        let method = request.method.as_deref().map(parse_method).transpose()?;
        let path = request.path.as_deref().map(parse_path).transpose()?;
        if request.times == Some(0) {
            return Err(invalid("times", "times must be 1 or more"));
        }
        let chance = match request.probability {
            None if request.seed.is_some() => return Err(invalid("seed", "seed goes with probability")),
            None => None,
            Some(probability) if !(0.0..=1.0).contains(&probability) => {
                return Err(invalid("probability", "probability must be between 0 and 1"));
            }
            Some(probability) => Some(Chance { probability, seed: request.seed.unwrap_or(seed) }),
        };
        Ok(FaultRule { org, method, path, action, times: request.times, chance })
    }

    /// Where the rule is applied.
    pub fn kind(&self) -> FaultKind {
        match self.action {
            FaultAction::Http(_) => FaultKind::Http,
            FaultAction::Job(_) => FaultKind::Job,
            FaultAction::Callback(_) => FaultKind::Callback,
        }
    }

    /// Whether an HTTP rule matches a request's method and path (its org aside).
    pub fn matches_request(&self, method: &str, path: &str) -> bool {
        let method_matches = self.method.as_deref().is_none_or(|want| want.eq_ignore_ascii_case(method));
        let path_matches = self.path.as_ref().is_none_or(|pattern| pattern.matches(path));
        self.kind() == FaultKind::Http && method_matches && path_matches && is_zoho_path(path)
    }

    /// Whether the rule applies to what `org` does (`None`: an org that could not be told).
    pub fn applies_to(&self, org: Option<OrgId>) -> bool {
        match self.org {
            None => true,
            Some(own) => org == Some(own),
        }
    }

    /// Whether match number `k` (from 1) fires, given that `fired` matches fired before it.
    pub fn fires(&self, k: u64, fired: u64) -> bool {
        if self.times.is_some_and(|times| fired >= times) {
            return false;
        }
        self.chance.is_none_or(|chance| chance.fires(k))
    }

    /// The rule's normalised request, as stored and listed.
    pub fn to_wire(&self) -> NewFault {
        let mut wire = NewFault {
            method: self.method.clone(),
            path: self.path.as_ref().map(|p| p.as_str().to_string()),
            org: self.org.map(|org| org.to_string()),
            times: self.times,
            probability: self.chance.map(|c| c.probability),
            seed: self.chance.map(|c| c.seed),
            ..NewFault::default()
        };
        match &self.action {
            FaultAction::Http(http) => {
                wire.status = http.error.map(ErrorCode::http_status);
                wire.code = http.error.map(|code| code.as_str().to_string());
                wire.latency_ms = http.latency_ms;
            }
            FaultAction::Job(job) => wire.job = Some(job.clone()),
            FaultAction::Callback(CallbackFault::Status(status)) => {
                wire.callback = Some(WireCallbackFault { status: Some(*status), timeout: false });
            }
            FaultAction::Callback(CallbackFault::Timeout) => {
                wire.callback = Some(WireCallbackFault { status: None, timeout: true });
            }
        }
        wire
    }
}

fn parse_action(request: &NewFault) -> Result<FaultAction, ApiError> {
    let http = request.status.is_some() || request.code.is_some() || request.latency_ms.is_some();
    let given = [http, request.job.is_some(), request.callback.is_some()].iter().filter(|g| **g).count();
    if given != 1 {
        let key = if given == 0 { "status" } else { "job" };
        return Err(invalid(
            key,
            "a fault is one of: status and/or code (with latency_ms or not), latency_ms, job, callback",
        ));
    }
    if let Some(job) = &request.job {
        return parse_job(job).map(FaultAction::Job);
    }
    if let Some(callback) = &request.callback {
        return parse_callback(callback).map(FaultAction::Callback);
    }
    let error = parse_error(request.status, request.code.as_deref())?;
    let latency_ms = request.latency_ms.map(|ms| checked_delay("latency_ms", ms)).transpose()?;
    Ok(FaultAction::Http(HttpFault { error, latency_ms }))
}

fn checked_delay(key: &str, ms: u64) -> Result<u64, ApiError> {
    if ms > MAX_DELAY_MS {
        return Err(invalid(key, format!("{key} is at most {MAX_DELAY_MS}")));
    }
    Ok(ms)
}

/// The error of an HTTP rule: the code's own status, or the table's first code of a status.
fn parse_error(status: Option<u16>, code: Option<&str>) -> Result<Option<ErrorCode>, ApiError> {
    match (status, code) {
        (None, None) => Ok(None),
        (status, Some(word)) => {
            let code = ErrorCode::parse(word.trim())
                .ok_or_else(|| invalid("code", format!("{word} is not a Zoho error code bulkwrite knows")))?;
            if status.is_some_and(|status| status != code.http_status()) {
                return Err(invalid(
                    "status",
                    format!("Zoho answers {} with HTTP {}", code.as_str(), code.http_status()),
                ));
            }
            Ok(Some(code))
        }
        (Some(status), None) => ErrorCode::ALL
            .iter()
            .find(|code| code.http_status() == status)
            .copied()
            .map(Some)
            .ok_or_else(|| invalid("status", format!("no Zoho error code answers with HTTP {status}; give a code"))),
    }
}

fn parse_job(job: &JobFault) -> Result<JobFault, ApiError> {
    if job.fail_at_row.is_none() && !job.fail_chunk_once && job.slow_ms.is_none() {
        return Err(invalid("job", "a job fault is fail_at_row, fail_chunk_once or slow_ms"));
    }
    if let Some(ms) = job.slow_ms {
        checked_delay("slow_ms", ms)?;
    }
    Ok(job.clone())
}

fn parse_callback(callback: &WireCallbackFault) -> Result<CallbackFault, ApiError> {
    match (callback.status, callback.timeout) {
        (Some(status), false) if (100..=599).contains(&status) => Ok(CallbackFault::Status(status)),
        (Some(status), false) => Err(invalid("callback", format!("{status} is not an HTTP status"))),
        (None, true) => Ok(CallbackFault::Timeout),
        _ => Err(invalid("callback", "a callback fault is status or timeout (one of them)")),
    }
}

fn parse_method(text: &str) -> Result<String, ApiError> {
    let method = text.trim();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(invalid("method", format!("'{text}' is not an HTTP method")));
    }
    Ok(method.to_ascii_uppercase())
}

fn parse_path(text: &str) -> Result<PathPattern, ApiError> {
    let path = text.trim();
    if !path.starts_with('/') || path.contains(['?', '#', ' ']) {
        return Err(invalid("path", format!("'{text}' is not a path (like /crm/bulk/*/write)")));
    }
    if segments(path).any(|segment| segment.contains('*') && segment != "*") {
        return Err(invalid("path", "* stands for a whole segment (/crm/*/Leads)"));
    }
    if !is_zoho_path(path) {
        return Err(invalid(
            "path",
            "faults apply to Zoho's paths, never to bulkwrite's own /bulkwrite/… or health pages",
        ));
    }
    Ok(PathPattern { text: path.to_string() })
}

#[cfg(test)]
mod tests;
