//! Taxes: the org's taxes (`GET /crm/{v}/org/taxes`), and the taxes applied to an inventory
//! record's lines (`Line_Tax`, v2 `line_tax`) and to the record itself (`$line_tax`).
//!
//! An applied tax is `{name, percentage}` (`id` and `value` as Zoho answers them): its name must
//! be one of the org's taxes (else `INVALID_DATA`), and a percentage it does not give is the
//! org tax's `value`. A line's `Tax` is Σ `Total_After_Discount` × percentage / 100 of its line
//! taxes; the record's `Tax` is Σ (`Sub_Total` − `Discount`) × percentage / 100 of its
//! `$line_tax`, each rounded to cents; each applied tax keeps its amount in `value`.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::round2;
use crate::version::ApiVersion;

/// The record-level taxes key of an inventory record.
pub const RECORD_TAXES: &str = "$line_tax";
/// The line-level taxes key of a line item (v3+).
pub const LINE_TAXES: &str = "Line_Tax";
/// The line-level taxes key of a line in v2's `Product_Details`.
pub const V2_LINE_TAXES: &str = "line_tax";
/// Most taxes an org may have.
pub const MAX_ORG_TAXES: usize = 100;

/// One of the org's taxes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgTax {
    /// Zoho's id (a record-style id, rendered as a string).
    pub id: u64,
    /// The name records and lines apply it by (unique per org, case-insensitive).
    pub name: String,
    /// The rate, a percentage.
    pub value: f64,
    /// Its place in the org's list (1, 2, …).
    pub sequence_number: u32,
}

impl OrgTax {
    /// Zoho's `display_label`: `"<name> - <value> %"`.
    pub fn display_label(&self) -> String {
        format!("{} - {:.1} %", self.name, self.value)
    }

    /// The tax as `GET /crm/{v}/org/taxes` answers it.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id.to_string(),
            "name": self.name,
            "display_label": self.display_label(),
            "value": self.value,
            "sequence_number": self.sequence_number,
        })
    }
}

/// A tax rate is a percentage from 0 to 100, and a name is 1–50 characters.
pub fn check_tax(name: &str, value: f64) -> Result<(), String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 50 {
        return Err("a tax's name is 1 to 50 characters".into());
    }
    if !value.is_finite() || !(0.0..=100.0).contains(&value) {
        return Err(format!("a tax's value is a percentage from 0 to 100, not {value}"));
    }
    Ok(())
}

/// `GET /crm/{v}/org/taxes` (and `/{id}` with the one tax): v2–v4 answer `{"taxes": […],
/// "preference": {…}}`, v5 and later wrap both in `org_taxes`.
pub fn render_org_taxes(taxes: &[OrgTax], version: ApiVersion) -> Value {
    let list: Vec<Value> = taxes.iter().map(OrgTax::to_json).collect();
    let preference = json!({"auto_populate_tax": false, "modify_tax_rates": true});
    if version >= ApiVersion::V5 {
        json!({"org_taxes": {"taxes": list, "preference": preference}})
    } else {
        json!({"taxes": list, "preference": preference})
    }
}

/// Why a list of applied taxes was refused: the message, and the key of the item at fault
/// (`name` or `percentage`) with its index.
#[derive(Debug, Clone, PartialEq)]
pub struct TaxRefusal {
    /// The item at fault.
    pub index: usize,
    /// Its key at fault: `name` or `percentage`.
    pub key: &'static str,
    /// Why.
    pub reason: String,
}

/// Reads a list of applied taxes (`[{name, percentage?, id?}]`): each must name one of `org`'s
/// taxes (or give its id); the percentage, when given, is 0–100, else the org tax's rate.
/// Answers `[{name, percentage, id}]` in the org's spelling; `null` is no taxes.
pub fn read_applied(value: &Value, org: &[OrgTax]) -> Result<Vec<Value>, TaxRefusal> {
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        _ => return Err(TaxRefusal { index: 0, key: "name", reason: "taxes are a JSON array".into() }),
    };
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let refuse = |key, reason: String| TaxRefusal { index, key, reason };
        let Some(object) = item.as_object() else {
            return Err(refuse("name", "each tax is an object {name, percentage}".into()));
        };
        let name = object.get("name").and_then(Value::as_str).map(str::trim);
        let id =
            object.get("id").and_then(|v| v.as_str().map(str::to_string).or_else(|| v.as_u64().map(|n| n.to_string())));
        let found = match (name, id.as_deref()) {
            (Some(name), _) => org.iter().find(|t| t.name.eq_ignore_ascii_case(name)),
            (None, Some(id)) => org.iter().find(|t| t.id.to_string() == id),
            (None, None) => return Err(refuse("name", "a tax names one of the org's taxes".into())),
        };
        let Some(tax) = found else {
            let named = name.map(str::to_string).or(id).unwrap_or_default();
            return Err(refuse("name", format!("'{named}' is not one of the org's taxes")));
        };
        let percentage = match object.get("percentage") {
            None | Some(Value::Null) => tax.value,
            Some(given) => match given.as_f64().or_else(|| given.as_str().and_then(|s| s.trim().parse().ok())) {
                Some(p) if p.is_finite() && (0.0..=100.0).contains(&p) => p,
                _ => return Err(refuse("percentage", format!("a tax's percentage is 0 to 100, not {given}"))),
            },
        };
        if out.iter().any(|t| t["name"] == json!(tax.name)) {
            return Err(refuse("name", format!("the tax '{}' is given twice", tax.name)));
        }
        out.push(json!({"name": tax.name, "percentage": percentage, "id": tax.id.to_string()}));
    }
    Ok(out)
}

/// Applies stored taxes (`[{name, percentage, id}]`) to `base`: their total, and the taxes with
/// each one's amount in `value`.
pub fn apply(applied: Option<&Value>, base: f64) -> (f64, Vec<Value>) {
    let mut total = 0.0;
    let mut out = Vec::new();
    for item in applied.and_then(Value::as_array).into_iter().flatten() {
        let Some(object) = item.as_object() else { continue };
        let percentage = object.get("percentage").and_then(Value::as_f64).unwrap_or(0.0);
        let value = round2(base * percentage / 100.0);
        total += value;
        let mut with_value: Map<String, Value> = object.clone();
        with_value.insert("value".into(), json!(value));
        out.push(Value::Object(with_value));
    }
    (round2(total), out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org() -> Vec<OrgTax> {
        vec![
            OrgTax { id: 11, name: "Sales Tax".into(), value: 12.5, sequence_number: 1 },
            OrgTax { id: 12, name: "Vat".into(), value: 5.0, sequence_number: 2 },
        ]
    }

    #[test]
    fn applied_taxes_take_the_org_rate_unless_given_and_refuse_unknown_names() {
        let read = read_applied(&json!([{"name": "sales tax"}, {"name": "Vat", "percentage": 8}]), &org()).unwrap();
        assert_eq!(
            read,
            vec![
                json!({"name": "Sales Tax", "percentage": 12.5, "id": "11"}),
                json!({"name": "Vat", "percentage": 8.0, "id": "12"})
            ]
        );
        let refused = read_applied(&json!([{"name": "Vat"}, {"name": "GST"}]), &org()).unwrap_err();
        assert_eq!((refused.index, refused.key), (1, "name"));
        assert!(read_applied(&json!([{"name": "Vat", "percentage": 120}]), &org()).is_err());
        assert!(read_applied(&json!([{"name": "Vat"}, {"name": "VAT"}]), &org()).is_err());
        assert_eq!(read_applied(&Value::Null, &org()).unwrap(), Vec::<Value>::new());
    }

    #[test]
    fn taxes_apply_to_a_base_rounded_to_cents() {
        let applied = json!([{"name": "Sales Tax", "percentage": 12.5}, {"name": "Vat", "percentage": 5.0}]);
        let (total, with_values) = apply(Some(&applied), 99.99);
        assert_eq!(total, 17.5);
        assert_eq!(with_values[0]["value"], json!(12.5));
        assert_eq!(with_values[1]["value"], json!(5.0));
    }

    #[test]
    fn the_taxes_api_wraps_them_in_org_taxes_from_v5() {
        let v2 = render_org_taxes(&org(), ApiVersion::V2);
        assert_eq!(v2["taxes"][0]["display_label"], json!("Sales Tax - 12.5 %"));
        assert_eq!(v2["taxes"][1]["id"], json!("12"));
        let v8 = render_org_taxes(&org(), ApiVersion::V8);
        assert_eq!(v8["org_taxes"]["taxes"][1]["sequence_number"], json!(2));
        assert!(check_tax("", 1.0).is_err() && check_tax("GST", 101.0).is_err() && check_tax("GST", 18.0).is_ok());
    }
}
