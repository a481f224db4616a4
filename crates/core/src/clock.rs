//! The one clock: what reads the time takes it from a [`Clock`], so tests move it rather than
//! wait for it.
//!
//! The server's clock is an [`OffsetClock`]: the system's time plus an offset that only the test
//! controls (`POST /bulkwrite/v1/clock`) move. Token, grant, upload and result expiry,
//! retention, callback backoff and creation times read it. Leases and heartbeats do not: they
//! measure whether a process is alive, in real seconds, so a jump of days expires no lease.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

/// Where the current time comes from.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that moves only when told: starts at the time it is made and stands still until
/// [`advance`](ManualClock::advance) or [`set`](ManualClock::set).
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn at(start: DateTime<Utc>) -> ManualClock {
        ManualClock { now: Mutex::new(start) }
    }

    /// A clock standing at the system's time now.
    pub fn starting_now() -> ManualClock {
        ManualClock::at(Utc::now())
    }

    /// Moves the clock `by` (backwards when negative).
    pub fn advance(&self, by: Duration) {
        *self.lock() += by;
    }

    /// Sets the clock to `to`.
    pub fn set(&self, to: DateTime<Utc>) {
        *self.lock() = to;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DateTime<Utc>> {
        self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.lock()
    }
}

/// A clock running `offset` seconds ahead of another (the system's, unless a test gives a
/// [`ManualClock`]). The offset is shared by every reader of the clock and set at once.
#[derive(Debug)]
pub struct OffsetClock {
    base: Arc<dyn Clock>,
    offset_seconds: AtomicI64,
}

impl OffsetClock {
    /// A clock on `base` with no offset.
    pub fn new(base: Arc<dyn Clock>) -> OffsetClock {
        OffsetClock { base, offset_seconds: AtomicI64::new(0) }
    }

    /// The system's clock with no offset.
    pub fn system() -> OffsetClock {
        OffsetClock::new(Arc::new(SystemClock))
    }

    /// How far ahead of its base the clock runs, in seconds.
    pub fn offset_seconds(&self) -> i64 {
        self.offset_seconds.load(Ordering::SeqCst)
    }

    /// Sets the offset; returns whether it changed.
    pub fn set_offset_seconds(&self, seconds: i64) -> bool {
        self.offset_seconds.swap(seconds, Ordering::SeqCst) != seconds
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        let base = self.base.now();
        base.checked_add_signed(Duration::seconds(self.offset_seconds())).unwrap_or(base)
    }
}

/// Why a clock advance was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AdvanceError(pub String);

/// The longest single advance: 100 years, far beyond any retention or token lifetime.
pub const MAX_ADVANCE_SECONDS: i64 = 100 * 366 * 24 * 3600;

/// Reads how far to move the clock: a whole number followed by `d`, `h`, `m` or `s` (`7d`,
/// `12h`, `30m`, `90s`), or a bare number of seconds. The clock only moves forward: a negative
/// amount is refused (a reset brings it back to the real time), and so is one beyond
/// [`MAX_ADVANCE_SECONDS`].
pub fn parse_advance(text: &str) -> Result<i64, AdvanceError> {
    let text = text.trim();
    let refuse = |why: &str| {
        AdvanceError(format!("'{text}' {why}; give a whole number with d, h, m or s, e.g. 7d, 12h, 30m, 90s"))
    };
    if text.starts_with('-') {
        return Err(AdvanceError(format!(
            "'{text}' is negative: the clock only moves forward (reset it with {{\"reset\": true}})"
        )));
    }
    let (digits, unit) = match text.char_indices().last() {
        Some((at, last)) if last.is_ascii_alphabetic() => (&text[..at], last.to_ascii_lowercase()),
        Some(_) => (text, 's'),
        None => return Err(refuse("is empty")),
    };
    let digits = digits.trim().strip_prefix('+').unwrap_or(digits.trim());
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(refuse("is not an amount of time"));
    }
    let per_unit: i64 = match unit {
        'd' => 24 * 3600,
        'h' => 3600,
        'm' => 60,
        's' => 1,
        _ => return Err(refuse("has an unknown unit")),
    };
    let amount: i64 = digits.parse().map_err(|_| refuse("is too large"))?;
    match amount.checked_mul(per_unit) {
        Some(seconds) if seconds <= MAX_ADVANCE_SECONDS => Ok(seconds),
        _ => Err(AdvanceError(format!("'{text}' is too large: at most {} days at once", MAX_ADVANCE_SECONDS / 86_400))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offset_clock_runs_ahead_of_its_base_by_the_offset() {
        let start = Utc::now();
        let base = Arc::new(ManualClock::at(start));
        let clock = OffsetClock::new(base.clone());
        assert_eq!(clock.now(), start);
        assert!(clock.set_offset_seconds(7 * 86_400));
        assert!(!clock.set_offset_seconds(7 * 86_400), "unchanged");
        assert_eq!(clock.now(), start + Duration::days(7));
        base.advance(Duration::seconds(5));
        assert_eq!(clock.now(), start + Duration::days(7) + Duration::seconds(5));
        clock.set_offset_seconds(0);
        assert_eq!(clock.now(), start + Duration::seconds(5));
    }

    #[test]
    fn advances_read_days_hours_minutes_and_seconds() {
        let cases =
            [("7d", 604_800), ("12h", 43_200), ("30m", 1_800), ("90s", 90), ("90", 90), (" 2H ", 7_200), ("0s", 0)];
        for (text, seconds) in cases {
            assert_eq!(parse_advance(text), Ok(seconds), "{text}");
        }
    }

    #[test]
    fn advances_backwards_or_unreadable_are_refused_clearly() {
        let negative = parse_advance("-1h").unwrap_err().0;
        assert!(negative.contains("negative") && negative.contains("reset"), "{negative}");
        for text in ["", "d", "7w", "1.5h", "seven days", "7 d x", "99999999999999999999d"] {
            let error = parse_advance(text).unwrap_err().0;
            assert!(error.contains(text.trim()), "{text}: {error}");
        }
        assert!(parse_advance(&format!("{}s", MAX_ADVANCE_SECONDS + 1)).is_err());
    }

    #[test]
    fn a_manual_clock_stands_still_until_moved() {
        let start = Utc::now() - Duration::days(1);
        let clock = ManualClock::at(start);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::seconds(90));
        assert_eq!(clock.now(), start + Duration::seconds(90));
        clock.set(start);
        assert_eq!(clock.now(), start);
    }

    #[test]
    fn the_system_clock_follows_the_system() {
        let before = Utc::now();
        let now = SystemClock.now();
        assert!(before <= now && now <= Utc::now());
    }
}
