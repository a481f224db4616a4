//! Zoho CRM's API limits as its API limits pages give them: credits in a rolling 24-hour window
//! by edition and user licences, what each call costs, and the concurrency limits (per edition,
//! and the sub-concurrency of the "complex" APIs). Pure tables; the API meters calls with them
//! and the store counts them.
//!
//! Sources (read 2026-12; `[D]` Zoho's docs, `[K]` a Zoho staff post):
//! - `[D]` <https://www.zoho.com/crm/developer/docs/api/v4/api-limits.html> (same table in v2 and
//!   in the v8 page, `…/api/v8/api-limits.html`): "Maximum credit limit in a 24-hour window":
//!   Free 5,000 (max 5,000); Standard/Starter 50,000 + users × 250 + add-ons (max 100,000);
//!   Professional 50,000 + users × 500 + add-ons (max 3,000,000); Enterprise/Zoho One
//!   50,000 + users × 1,000 + add-ons (max 5,000,000); Ultimate/CRM Plus 50,000 plus users ×
//!   2,000 plus add-ons (no maximum). Credits deducted: 1 a call, except Get records with `cvid` 3,
//!   Convert Lead 5, Insert/Update/Upsert 1 for every 10 records (100 records a call, so at
//!   most 10), Bulk Read initialize 50, Bulk Write initialize 500; v8 adds COQL by `LIMIT`:
//!   1–200 rows 1, 201–1,000 rows 2, 1,001–2,000 rows 3. The `X-API-CREDITS-REMAINING` response
//!   header appears once the window's usage reaches 50 % of the credits available, add-on
//!   credits excluded. Concurrency (API calls active at once, per org and app): Free 5,
//!   Standard 10, Professional 15, Enterprise 20, Ultimate 25; sub-concurrency 10 in every
//!   edition for the complex APIs: Get records with `cvid` or `sort_by`, Convert Lead,
//!   Insert/Update/Upsert of more than 10 records, Send Mail, Search records, COQL, Composite.
//! - `[D]` <https://www.zoho.com/crm/developer/docs/api/v8/status-codes.html>: `429
//!   TOO_MANY_REQUESTS`, "Number of API requests for the 24 hour period is exceeded or the
//!   concurrency limit of the user for the app is exceeded".
//! - `[K]` Kaizen #93 "Credit Calculation and Concurrency in Zoho CRM APIs": the window rolls —
//!   each call checks the credits used in the 24 hours before it, and credits used at a moment
//!   come back 24 hours after that moment. Kaizen "Sub-concurrency for Complex APIs": the
//!   complex group and its limit of 10, the same for every edition.
//!
//! Where the pages leave a choice, bulkwrite takes (`[I]`): a call is refused when its cost
//! would take the window past the limit (not only once the limit is reached); the edition's
//! maximum caps the base and per-user credits, add-on credits come on top.

use std::fmt;
use std::str::FromStr;

/// The length of the rolling window: 24 hours.
pub const WINDOW_SECONDS: i64 = 24 * 60 * 60;

/// Complex-API calls of one org and app active at once, in every edition.
pub const SUB_CONCURRENCY: u32 = 10;

/// Zoho CRM's editions, as its API limits page groups them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Edition {
    /// Free.
    Free,
    /// Standard / Starter.
    Standard,
    /// Professional.
    Professional,
    /// Enterprise / Zoho One.
    Enterprise,
    /// Ultimate / CRM Plus.
    Ultimate,
}

impl Edition {
    /// Every edition, cheapest first.
    pub const ALL: [Edition; 5] =
        [Edition::Free, Edition::Standard, Edition::Professional, Edition::Enterprise, Edition::Ultimate];

    /// The edition's word in settings and answers (`enterprise`).
    pub fn as_str(self) -> &'static str {
        match self {
            Edition::Free => "free",
            Edition::Standard => "standard",
            Edition::Professional => "professional",
            Edition::Enterprise => "enterprise",
            Edition::Ultimate => "ultimate",
        }
    }

    /// Credits of the window before user licences: 5,000 in Free, 50,000 in the others.
    fn base_credits(self) -> u64 {
        match self {
            Edition::Free => 5_000,
            _ => 50_000,
        }
    }

    /// Credits each user licence adds.
    fn credits_per_user(self) -> u64 {
        match self {
            Edition::Free => 0,
            Edition::Standard => 250,
            Edition::Professional => 500,
            Edition::Enterprise => 1_000,
            Edition::Ultimate => 2_000,
        }
    }

    /// The most credits base and licences give (`None`: no maximum).
    fn max_credits(self) -> Option<u64> {
        match self {
            Edition::Free => Some(5_000),
            Edition::Standard => Some(100_000),
            Edition::Professional => Some(3_000_000),
            Edition::Enterprise => Some(5_000_000),
            Edition::Ultimate => None,
        }
    }

    /// API calls of one org and app active at once.
    pub fn concurrency(self) -> u32 {
        match self {
            Edition::Free => 5,
            Edition::Standard => 10,
            Edition::Professional => 15,
            Edition::Enterprise => 20,
            Edition::Ultimate => 25,
        }
    }
}

impl fmt::Display for Edition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An edition word that is not one of Zoho's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown edition '{0}' (free, standard, professional, enterprise or ultimate)")]
pub struct UnknownEdition(pub String);

impl FromStr for Edition {
    type Err = UnknownEdition;

    /// Zoho's names, any case, `-`/`_`/space alike: `free`, `standard` (`starter`),
    /// `professional`, `enterprise` (`zoho one`), `ultimate` (`crm plus`).
    fn from_str(text: &str) -> Result<Edition, UnknownEdition> {
        let word: String =
            text.trim().chars().filter(|c| !matches!(c, '-' | '_' | ' ')).collect::<String>().to_ascii_lowercase();
        match word.as_str() {
            "free" => Ok(Edition::Free),
            "standard" | "starter" => Ok(Edition::Standard),
            "professional" => Ok(Edition::Professional),
            "enterprise" | "zohoone" => Ok(Edition::Enterprise),
            "ultimate" | "crmplus" => Ok(Edition::Ultimate),
            _ => Err(UnknownEdition(text.to_string())),
        }
    }
}

/// What an org pays for: its edition, user licences and add-on credits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditPlan {
    /// The edition.
    pub edition: Edition,
    /// User licences (at least 1; the Free edition ignores them).
    pub users: u32,
    /// Add-on credits bought on top of the edition's.
    pub addon_credits: u64,
}

impl CreditPlan {
    /// The plan of `edition` with `users` licences and no add-ons.
    pub fn new(edition: Edition, users: u32) -> CreditPlan {
        CreditPlan { edition, users: users.max(1), addon_credits: 0 }
    }

    /// Credits the edition and licences give, capped at the edition's maximum (add-ons not
    /// counted): the base of the 50 % header threshold.
    pub fn included_credits(&self) -> u64 {
        let edition = self.edition;
        let credits =
            edition.base_credits().saturating_add(u64::from(self.users).saturating_mul(edition.credits_per_user()));
        match edition.max_credits() {
            Some(max) => credits.min(max),
            None => credits,
        }
    }

    /// Credits the window holds: the included credits plus add-ons.
    pub fn credit_limit(&self) -> u64 {
        self.included_credits().saturating_add(self.addon_credits)
    }

    /// Used credits from which answers carry `X-API-CREDITS-REMAINING`: half the included ones.
    pub fn header_threshold(&self) -> u64 {
        self.included_credits().div_ceil(2)
    }

    /// API calls of one org and app active at once.
    pub fn concurrency(&self) -> u32 {
        self.edition.concurrency()
    }
}

/// The metered CRM API calls bulkwrite serves, each with its cost and weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiCall {
    /// Any call the table gives no other cost (metadata, one record, job details, uploads…).
    Standard,
    /// Get records with a `cvid` (3 credits; complex).
    RecordsWithCustomView,
    /// Get records sorted with `sort_by` (1 credit; complex).
    RecordsSorted,
    /// Insert, update or upsert of this many records (1 credit per 10; complex above 10).
    WriteRecords(usize),
    /// Search records (1 credit; complex).
    SearchRecords,
    /// A COQL query returning at most this many rows (1–3 credits by `LIMIT`; complex).
    Coql(u64),
    /// Bulk Read initialize: create a read job (50 credits).
    BulkReadInitialize,
    /// Bulk Write initialize: create a write job (500 credits).
    BulkWriteInitialize,
}

impl ApiCall {
    /// Credits the call deducts.
    pub fn cost(self) -> u64 {
        match self {
            ApiCall::Standard | ApiCall::RecordsSorted | ApiCall::SearchRecords => 1,
            ApiCall::RecordsWithCustomView => 3,
            ApiCall::WriteRecords(records) => (records as u64).div_ceil(10).clamp(1, 10),
            ApiCall::Coql(limit) => match limit {
                0..=200 => 1,
                201..=1000 => 2,
                _ => 3,
            },
            ApiCall::BulkReadInitialize => 50,
            ApiCall::BulkWriteInitialize => 500,
        }
    }

    /// Whether the call is one of the complex APIs, held to the sub-concurrency limit.
    pub fn is_complex(self) -> bool {
        match self {
            ApiCall::RecordsWithCustomView | ApiCall::RecordsSorted | ApiCall::SearchRecords | ApiCall::Coql(_) => true,
            ApiCall::WriteRecords(records) => records > 10,
            ApiCall::Standard | ApiCall::BulkReadInitialize | ApiCall::BulkWriteInitialize => false,
        }
    }
}

/// Which limit refused a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The window's credits would run out.
    Credits,
    /// The org and app have as many calls active as the edition allows.
    Concurrency,
    /// The org and app have as many complex calls active as the sub-concurrency limit allows.
    SubConcurrency,
}

impl Refusal {
    /// The message of the 429 `TOO_MANY_REQUESTS` answer (the words of Zoho's status-codes page,
    /// the half that applies).
    pub fn message(self) -> &'static str {
        match self {
            Refusal::Credits => "Number of API requests for the 24 hour period is exceeded",
            Refusal::Concurrency => "the concurrency limit of the user for the app is exceeded",
            Refusal::SubConcurrency => "the sub-concurrency limit of the user for the app is exceeded",
        }
    }

    /// The limit's word in our own answers (`credits`, `concurrency`, `sub_concurrency`).
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Credits => "credits",
            Refusal::Concurrency => "concurrency",
            Refusal::SubConcurrency => "sub_concurrency",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credits_follow_the_edition_table() {
        let cases = [
            (Edition::Free, 50, 5_000),
            (Edition::Standard, 10, 52_500),
            (Edition::Standard, 1_000, 100_000),
            (Edition::Professional, 10, 55_000),
            (Edition::Professional, 10_000, 3_000_000),
            (Edition::Enterprise, 20, 70_000),
            (Edition::Enterprise, 100, 150_000),
            (Edition::Enterprise, 10_000, 5_000_000),
            (Edition::Ultimate, 10, 70_000),
            (Edition::Ultimate, 10_000, 20_050_000),
        ];
        for (edition, users, credits) in cases {
            assert_eq!(CreditPlan::new(edition, users).credit_limit(), credits, "{edition} with {users} users");
        }
        let with_addons = CreditPlan { addon_credits: 1_000, ..CreditPlan::new(Edition::Standard, 1_000) };
        assert_eq!(with_addons.credit_limit(), 101_000, "add-ons come on top of the maximum");
        assert_eq!(with_addons.header_threshold(), 50_000, "the header threshold leaves add-ons out");
    }

    #[test]
    fn concurrency_follows_the_edition() {
        let limits: Vec<u32> = Edition::ALL.iter().map(|e| e.concurrency()).collect();
        assert_eq!(limits, [5, 10, 15, 20, 25]);
    }

    #[test]
    fn calls_cost_what_the_table_says() {
        let cases = [
            (ApiCall::Standard, 1, false),
            (ApiCall::RecordsWithCustomView, 3, true),
            (ApiCall::RecordsSorted, 1, true),
            (ApiCall::WriteRecords(1), 1, false),
            (ApiCall::WriteRecords(10), 1, false),
            (ApiCall::WriteRecords(11), 2, true),
            (ApiCall::WriteRecords(100), 10, true),
            (ApiCall::WriteRecords(0), 1, false),
            (ApiCall::SearchRecords, 1, true),
            (ApiCall::Coql(200), 1, true),
            (ApiCall::Coql(201), 2, true),
            (ApiCall::Coql(1000), 2, true),
            (ApiCall::Coql(1001), 3, true),
            (ApiCall::Coql(2000), 3, true),
            (ApiCall::BulkReadInitialize, 50, false),
            (ApiCall::BulkWriteInitialize, 500, false),
        ];
        for (call, cost, complex) in cases {
            assert_eq!((call.cost(), call.is_complex()), (cost, complex), "{call:?}");
        }
    }

    #[test]
    fn editions_parse_by_zoho_names() {
        for (text, edition) in [
            ("Enterprise", Edition::Enterprise),
            ("zoho-one", Edition::Enterprise),
            ("starter", Edition::Standard),
            ("CRM Plus", Edition::Ultimate),
            (" free ", Edition::Free),
        ] {
            assert_eq!(text.parse::<Edition>(), Ok(edition), "{text}");
        }
        assert!("gold".parse::<Edition>().is_err());
        for edition in Edition::ALL {
            assert_eq!(edition.as_str().parse::<Edition>(), Ok(edition));
        }
    }
}
