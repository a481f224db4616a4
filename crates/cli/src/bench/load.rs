//! The load generator of `bulkwrite bench --reads`: N tasks, each on its own keep-alive connection
//! (see `keepalive`), send one kind of request back to back for D seconds; every answer's latency
//! lands in a bounded log-linear histogram (under 1% error, a few KiB whatever the request count).

use std::time::{Duration, Instant};

use serde::Deserialize;

use super::keepalive::{Connection, Endpoint};

/// Linear buckets below this many microseconds; above, 64 buckets per power of two.
const LINEAR: u64 = 128;
/// Buckets enough for any `u64` of microseconds (the last is `bucket(u64::MAX)`).
const BUCKETS: usize = 64 * 57 + 128;

/// Latencies in microseconds, counted in buckets.
#[derive(Debug, Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram { counts: vec![0; BUCKETS], total: 0 }
    }
}

fn bucket(micros: u64) -> usize {
    if micros < LINEAR {
        return micros as usize;
    }
    // The highest set bit is at `top` ≥ 7: the 7 bits from it down pick one of 64 buckets.
    let top = 63 - u64::from(micros.leading_zeros());
    let shift = top - 6;
    (shift * 64 + (micros >> shift)) as usize
}

/// The smallest value that lands in `index` (its bucket's lower bound; `BUCKETS` gives 2⁶⁴).
fn lower_bound(index: usize) -> u128 {
    let index = index as u128;
    if index < u128::from(LINEAR) {
        return index;
    }
    let shift = index / 64 - 1;
    (index % 64 + 64) << shift
}

impl Histogram {
    pub fn record(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.counts[bucket(micros)] += 1;
        self.total += 1;
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.total += other.total;
    }

    /// The latency at quantile `q` (0..=1) in milliseconds, `None` when nothing was recorded.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (index, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                // The bucket's middle: its lower bound plus half its width.
                let (low, high) = (lower_bound(index), lower_bound(index + 1));
                return Some((low + high) as f64 / 2.0 / 1000.0);
            }
        }
        None
    }
}

/// What one kind of request measured, over every connection.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    pub connections: usize,
    pub seconds: f64,
    /// Answers that were `200`.
    pub requests: u64,
    /// Answers that were not (or requests that failed), not in `latency`.
    pub errors: u64,
    /// The first error seen, for the report.
    pub first_error: Option<String>,
    /// Records the answers held (records list only).
    pub records: u64,
    pub latency: Histogram,
}

impl Measured {
    pub fn per_second(&self, n: u64) -> f64 {
        n as f64 / self.seconds.max(f64::EPSILON)
    }
}

/// What one request sends: its URL is fixed, or (records list) follows the last page's token.
#[derive(Debug, Clone)]
pub enum Target {
    /// The same URL again and again.
    Fixed(String),
    /// A records listing walked from its first page by `page_token`, `pages` pages a walk.
    Pages { first: String, pages: usize },
}

impl Target {
    /// The URL of the first request.
    fn first_url(&self) -> &str {
        match self {
            Target::Fixed(url) | Target::Pages { first: url, .. } => url,
        }
    }
}

/// The part of a records page the walk reads.
#[derive(Deserialize)]
struct Page {
    data: Vec<serde::de::IgnoredAny>,
    info: Option<PageInfo>,
}

#[derive(Deserialize)]
struct PageInfo {
    next_page_token: Option<String>,
}

/// Per connection: the histogram, counts and the first error.
#[derive(Default)]
struct Tally {
    latency: Histogram,
    requests: u64,
    errors: u64,
    records: u64,
    first_error: Option<String>,
}

impl Tally {
    fn error(&mut self, what: String) {
        self.errors += 1;
        self.first_error.get_or_insert(what);
    }
}

/// Runs `connections` loops of requests to `target` for `duration`, `auth` as the Authorization.
pub async fn run(target: &Target, auth: &str, connections: usize, duration: Duration) -> anyhow::Result<Measured> {
    let endpoint = Endpoint::of(target.first_url(), auth)?;
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let (endpoint, target) = (endpoint.clone(), target.clone());
        tasks.push(tokio::spawn(async move { connection(endpoint, &target, deadline).await }));
    }
    let mut measured = Measured { connections, ..Measured::default() };
    for task in tasks {
        let tally = task.await??;
        measured.latency.merge(&tally.latency);
        measured.requests += tally.requests;
        measured.errors += tally.errors;
        measured.records += tally.records;
        if measured.first_error.is_none() {
            measured.first_error = tally.first_error;
        }
    }
    measured.seconds = started.elapsed().as_secs_f64();
    Ok(measured)
}

/// One connection's loop: a request as soon as the last answer is read, until the deadline.
async fn connection(endpoint: Endpoint, target: &Target, deadline: Instant) -> anyhow::Result<Tally> {
    let mut tally = Tally::default();
    let mut connection = Connection::new(endpoint.clone());
    let first_url = target.first_url();
    // The same request each time, but for the records walk's pages past its first.
    let first = endpoint.get(first_url)?;
    // The records walk: the token of the next page, and how many pages this walk has read.
    let mut next: Option<String> = None;
    let mut walked = 0;
    while Instant::now() < deadline {
        let page_url = next.as_ref().map(|token| format!("{first_url}&page_token={token}"));
        let url = page_url.as_deref().unwrap_or(first_url);
        let request = page_url.as_deref().map(|url| endpoint.get(url)).transpose()?;
        let sent = Instant::now();
        let answer = connection.send(request.as_deref().unwrap_or(&first)).await;
        let latency = sent.elapsed();
        let (status, body) = match answer {
            Ok(answer) => answer,
            Err(error) => {
                tally.error(format!("{url}: {error:#}"));
                continue;
            }
        };
        if status != 200 {
            tally.error(format!("{url}: {status} {}", String::from_utf8_lossy(&body[..body.len().min(300)])));
            next = None;
            continue;
        }
        tally.latency.record(latency);
        tally.requests += 1;
        if let Target::Pages { pages, .. } = target {
            match serde_json::from_slice::<Page>(body) {
                Ok(page) => {
                    tally.records += page.data.len() as u64;
                    walked += 1;
                    next = page.info.and_then(|i| i.next_page_token).filter(|_| walked < *pages);
                    if next.is_none() {
                        walked = 0;
                    }
                }
                Err(error) => {
                    tally.error(format!("{url}: not a records page: {error}"));
                    (next, walked) = (None, 0);
                }
            }
        }
    }
    Ok(tally)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_within_one_percent() {
        for micros in [0u64, 1, 127, 128, 129, 255, 256, 1000, 12_345, 1_000_000, u64::MAX / 2] {
            let index = bucket(micros);
            let value = u128::from(micros);
            assert!(lower_bound(index) <= value && value < lower_bound(index + 1), "{micros}");
            let width = lower_bound(index + 1) - lower_bound(index);
            assert!(micros < LINEAR || width * 64 <= value, "{micros}: width {width}");
        }
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
        for index in 1..BUCKETS {
            assert_eq!(bucket(lower_bound(index) as u64), index);
            assert_eq!(bucket((lower_bound(index + 1) - 1) as u64), index);
        }
    }

    #[test]
    fn quantiles_come_from_the_recorded_latencies() {
        let mut histogram = Histogram::default();
        assert_eq!(histogram.quantile_ms(0.5), None);
        for ms in 1..=100 {
            histogram.record(Duration::from_millis(ms));
        }
        let mut other = Histogram::default();
        other.record(Duration::from_secs(2));
        histogram.merge(&other);
        assert_eq!(histogram.total, 101);
        let p50 = histogram.quantile_ms(0.5).unwrap();
        assert!((50.0..52.0).contains(&p50), "{p50}");
        let p99 = histogram.quantile_ms(0.99).unwrap();
        assert!((99.0..101.5).contains(&p99), "{p99}");
        let max = histogram.quantile_ms(1.0).unwrap();
        assert!((1990.0..2020.0).contains(&max), "{max}");
    }
}
