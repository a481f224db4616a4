//! Zoho's limit on Bulk Read downloads: 10 a minute per user; the eleventh within a minute is
//! answered 429 `TOO_MANY_REQUESTS`. Counted per node, in memory (a sliding window of the
//! instants of the last downloads).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bulkwrite_core::ids::{OrgId, UserId};

/// Downloads one user may start in [`WINDOW`].
pub const DOWNLOADS_PER_WINDOW: usize = 10;
/// The sliding window downloads are counted in: one minute.
pub const WINDOW: Duration = Duration::from_secs(60);

/// Counts each user's recent downloads.
#[derive(Debug, Default)]
pub struct DownloadLimiter {
    recent: Mutex<HashMap<(OrgId, UserId), VecDeque<Instant>>>,
}

impl DownloadLimiter {
    /// Counts a download at `now` and says whether it is allowed (a refused one is not counted).
    pub fn allow(&self, org: OrgId, user: UserId, now: Instant) -> bool {
        let mut recent = self.recent.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Users with no download in the window are forgotten, so the map stays small.
        recent.retain(|_, times| times.back().is_some_and(|last| now.duration_since(*last) < WINDOW));
        let times = recent.entry((org, user)).or_default();
        while times.front().is_some_and(|first| now.duration_since(*first) >= WINDOW) {
            times.pop_front();
        }
        if times.len() >= DOWNLOADS_PER_WINDOW {
            return false;
        }
        times.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_a_minute_per_user() {
        let limiter = DownloadLimiter::default();
        let (org, user, other) = (OrgId::new(1), UserId::new(2), UserId::new(3));
        let start = Instant::now();
        for _ in 0..DOWNLOADS_PER_WINDOW {
            assert!(limiter.allow(org, user, start));
        }
        assert!(!limiter.allow(org, user, start + Duration::from_secs(59)), "the eleventh within the minute");
        assert!(limiter.allow(org, other, start), "another user has their own ten");
        assert!(limiter.allow(org, user, start + WINDOW), "a minute later the window has moved");
    }
}
