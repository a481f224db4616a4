//! The principals of recently seen access tokens, kept for a moment (`--token-cache-ms`) so that
//! a client polling a job (the common call) costs one store read, not two.
//!
//! What is kept is exactly what the store answered for a valid token, with its expiry: a kept
//! principal is refused the moment its token expires, by the clock handlers read (test controls
//! move it). Unknown and expired tokens are never kept: a token minted on another node works at
//! once, and a client sending random tokens fills nothing. Nor are the principals of metered
//! orgs (API credits): their calls cost credit queries anyway, and `bulkwrite admin orgs
//! credits` changes their setting in the database, beside the server.
//!
//! Any call that may change what a token means (every method but `GET`, `HEAD` and `OPTIONS`:
//! a revocation, an org's credits, a reset, a clock move, …) empties the cache once it has been
//! answered, on the node that served it; a lookup that began before and ends after that cannot
//! put its older answer back (the generation it began in is gone). Another node's change (or a
//! `bulkwrite admin` command on the database) reaches this node within the cache's lifetime.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bulkwrite_store::{Principal, Timestamp};

/// Principals kept at most; past it the cache starts over empty.
const MAX_ENTRIES: usize = 10_000;

/// How long a principal is kept by default (`--token-cache-ms`).
pub const DEFAULT_TOKEN_CACHE: Duration = Duration::from_millis(1000);

/// Recently seen tokens' principals, by token hash.
#[derive(Debug)]
pub struct PrincipalCache {
    lifetime: Duration,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Moves on every [`PrincipalCache::forget_all`].
    generation: u64,
    entries: HashMap<String, Kept>,
}

#[derive(Debug)]
struct Kept {
    principal: Principal,
    until: Instant,
}

/// Where a lookup stands: begun in this generation (an answer from a later one is not kept).
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

impl PrincipalCache {
    /// A cache keeping principals for `lifetime` (zero: keeps nothing).
    pub fn new(lifetime: Duration) -> PrincipalCache {
        PrincipalCache { lifetime, inner: Mutex::default() }
    }

    /// The kept principal of `token_hash`, if kept less than the lifetime ago and its token is
    /// unexpired at `now`; else the ticket to [`PrincipalCache::keep`] the store's answer with.
    pub fn get(&self, token_hash: &str, now: Timestamp) -> Result<Principal, Ticket> {
        let inner = self.lock();
        let ticket = Ticket(inner.generation);
        let Some(kept) = inner.entries.get(token_hash) else { return Err(ticket) };
        let expired = kept.principal.expires_at.is_some_and(|at| at <= now);
        if expired || kept.until <= Instant::now() {
            return Err(ticket);
        }
        Ok(kept.principal.clone())
    }

    /// Keeps the store's `principal` for `token_hash`, unless the cache was emptied since the
    /// lookup took `ticket`.
    pub fn keep(&self, ticket: Ticket, token_hash: &str, principal: &Principal) {
        if self.lifetime.is_zero() {
            return;
        }
        let mut inner = self.lock();
        if inner.generation != ticket.0 {
            return;
        }
        if inner.entries.len() >= MAX_ENTRIES && !inner.entries.contains_key(token_hash) {
            inner.entries.clear();
        }
        let kept = Kept { principal: principal.clone(), until: Instant::now() + self.lifetime };
        inner.entries.insert(token_hash.to_string(), kept);
    }

    /// Forgets every principal (after a call that may have changed one).
    pub fn forget_all(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves nothing half-done that a reader could misuse.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bulkwrite_core::ids::{OrgId, UserId};

    fn principal(expires_at: Option<Timestamp>) -> Principal {
        Principal {
            org: OrgId::new(1),
            user: UserId::new(2),
            scopes: vec!["ZohoCRM.bulk.ALL".into()],
            client_id: None,
            credits: bulkwrite_store::OrgCredits::Inherit,
            expires_at,
        }
    }

    #[test]
    fn a_kept_principal_is_answered_until_its_token_expires() {
        let cache = PrincipalCache::new(Duration::from_secs(60));
        let now = chrono::Utc::now();
        let ticket = cache.get("h", now).unwrap_err();
        cache.keep(ticket, "h", &principal(Some(now + chrono::Duration::seconds(10))));
        assert_eq!(cache.get("h", now).unwrap().user, UserId::new(2));
        assert!(cache.get("h", now + chrono::Duration::seconds(10)).is_err(), "expired by the clock");
        assert!(cache.get("other", now).is_err());
    }

    #[test]
    fn a_principal_is_kept_no_longer_than_the_lifetime() {
        let cache = PrincipalCache::new(Duration::from_millis(30));
        let now = chrono::Utc::now();
        let ticket = cache.get("h", now).unwrap_err();
        cache.keep(ticket, "h", &principal(None));
        assert!(cache.get("h", now).is_ok());
        std::thread::sleep(Duration::from_millis(40));
        assert!(cache.get("h", now).is_err());
    }

    #[test]
    fn forgetting_drops_every_principal_and_the_answers_of_lookups_begun_before() {
        let cache = PrincipalCache::new(Duration::from_secs(60));
        let now = chrono::Utc::now();
        let ticket = cache.get("h", now).unwrap_err();
        cache.keep(ticket, "h", &principal(None));
        let begun_before = cache.get("late", now).unwrap_err();
        cache.forget_all();
        assert!(cache.get("h", now).is_err());
        cache.keep(begun_before, "late", &principal(None));
        assert!(cache.get("late", now).is_err(), "an answer read before the change is not kept");
    }

    #[test]
    fn a_zero_lifetime_keeps_nothing_and_a_full_cache_starts_over() {
        let now = chrono::Utc::now();
        let off = PrincipalCache::new(Duration::ZERO);
        off.keep(off.get("h", now).unwrap_err(), "h", &principal(None));
        assert!(off.get("h", now).is_err());
        let cache = PrincipalCache::new(Duration::from_secs(60));
        for n in 0..=MAX_ENTRIES {
            let hash = n.to_string();
            cache.keep(cache.get(&hash, now).unwrap_err(), &hash, &principal(None));
        }
        assert!(cache.get("0", now).is_err(), "the cache started over when full");
        assert!(cache.get(&MAX_ENTRIES.to_string(), now).is_ok());
        assert_eq!(cache.lock().entries.len(), 1);
    }
}
