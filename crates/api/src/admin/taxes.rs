//! The org's taxes for `bulkwrite admin taxes` and `/bulkwrite/v1/admin/orgs/{org}/taxes` (see
//! `bulkwrite_core::inventory::tax`).

use bulkwrite_core::ids::OrgId;
use bulkwrite_core::inventory::tax::{check_tax, OrgTax, MAX_ORG_TAXES};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{Admin, AdminError};

/// A tax to set: its name and rate (percent).
#[derive(Debug, Clone, Deserialize)]
pub struct TaxRequest {
    /// The name records and lines apply it by.
    pub name: String,
    /// The rate, a percentage from 0 to 100.
    pub value: f64,
}

/// The taxes as the admin answers them: `{"taxes": [{id, name, display_label, value, sequence_number}]}`.
fn listing(taxes: &[OrgTax]) -> Value {
    json!({"taxes": taxes.iter().map(OrgTax::to_json).collect::<Vec<_>>()})
}

impl Admin {
    /// The org's taxes.
    pub async fn taxes(&self, org: OrgId) -> Result<Value, AdminError> {
        self.org(org).await?;
        Ok(listing(&self.store.org_taxes(org).await?))
    }

    /// Sets taxes (a tax of the same name is replaced: its rate and spelling change, its id and
    /// place stay); all are checked before any is stored. Answers the org's taxes.
    pub async fn set_taxes(&self, org: OrgId, taxes: &[TaxRequest]) -> Result<Value, AdminError> {
        self.org(org).await?;
        if taxes.is_empty() {
            return Err(AdminError::Invalid("name at least one tax".into()));
        }
        for tax in taxes {
            check_tax(&tax.name, tax.value).map_err(AdminError::Invalid)?;
        }
        let stored = self.store.org_taxes(org).await?;
        let new = taxes.iter().filter(|t| !stored.iter().any(|s| s.name.eq_ignore_ascii_case(t.name.trim()))).count();
        if stored.len() + new > MAX_ORG_TAXES {
            return Err(AdminError::Invalid(format!("an org has at most {MAX_ORG_TAXES} taxes")));
        }
        for tax in taxes {
            let id = self.ids.next_id().await?;
            self.store.put_tax(org, id, &tax.name, tax.value).await?;
        }
        self.taxes(org).await
    }

    /// Deletes the tax `id` (records and lines that applied it keep what they stored).
    pub async fn delete_tax(&self, org: OrgId, id: &str) -> Result<Value, AdminError> {
        self.org(org).await?;
        let parsed = id.trim().parse::<u64>().map_err(|_| AdminError::NotFound(format!("tax {id}")))?;
        if !self.store.delete_tax(org, parsed).await? {
            return Err(AdminError::NotFound(format!("tax {id}")));
        }
        self.taxes(org).await
    }
}
