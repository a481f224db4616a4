//! One row of facts per field type: every place that needs to know something about a
//! [`DataType`] (its metadata strings, its length limit, its decimals, whether and how a bulk
//! write converts it, how a query compares it) reads it here.
//!
//! [`DataType::facts`] is the table: one exhaustive `match`, no catch-all arm, so a new type is one
//! new row and the compiler points at it. Callers match on [`Converter`] (also exhaustive) rather
//! than on `DataType`.
//!
//! Lengths follow Zoho's "Field Types: Data Types and Length Limits" table of the create-custom-field
//! API (<https://www.zoho.com/crm/developer/docs/api/v7/create-custom-field.html#Field_Types>):
//! text 1–255, textarea 2000/32000/50000, email 1–100, phone 1–30, integer 1–9, autonumber 1–255,
//! currency 1–16, percent 1–5, bigint 1–18, double 1–18, website 1–450. The default is the
//! length a standard field of the type has when Zoho gives none (textarea: the `large` kind;
//! double: 16, as for currency). Picklists and multi-select picklists are not in that table;
//! both limit each value to 255 characters, the single-line text limit (multi-select picklists
//! had no default in the schema builder while conversion used 255: one value now, for both).

use super::DataType;
use crate::query::ValueKind;

/// How a value of the type is written by a bulk write or the records API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Converter {
    /// Any text within the length.
    Text,
    /// An email address.
    Email,
    /// A phone number.
    Phone,
    /// A URL.
    Website,
    /// One value of the field's picklist.
    Picklist,
    /// `;`-separated values of the field's picklist.
    MultiPicklist,
    /// A calendar date.
    Date,
    /// A date and time.
    DateTime,
    /// A 32-bit whole number.
    Integer,
    /// A 64-bit whole number (stored as a JSON string).
    BigInt,
    /// A decimal number (decimal, currency).
    Decimal,
    /// A percentage.
    Percent,
    /// `true` / `false`.
    Boolean,
    /// The record's owner: a user by id or email.
    Owner,
    /// A user lookup: a user by id or email.
    User,
    /// A lookup: a record of the related module.
    Lookup,
    /// The record's layout.
    Layout,
    /// Never written by imports (computed values, child records, files, unknown types).
    None,
}

/// Which metadata key names the module a field of the type points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Relation {
    /// `lookup.module`: one record of another module.
    Lookup,
    /// `associated_module` (or `subform.module`): the subform module whose rows the record holds.
    Subform,
    /// `multiselectlookup.connected_module`: several records through a linking module.
    MultiSelectLookup,
    /// The type points at no module (users, layouts and owners are not modules).
    None,
}

/// The facts of one field type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeFacts {
    /// The metadata API's `data_type` string.
    pub name: &'static str,
    /// The metadata API's `json_type` string.
    pub json_type: &'static str,
    /// The limit a field of the type has when it names no `length` (characters for text-like
    /// types, digits before the point for numbers); `None` when the type has no limit.
    pub default_length: Option<u32>,
    /// The largest `length` Zoho lets a field of the type have.
    pub max_length: Option<u32>,
    /// The `length` the metadata API shows for a field without one.
    pub shown_length: u32,
    /// Digits after the point when the field names no `decimal_place`; `None` for non-decimals.
    pub decimal_places: Option<u32>,
    /// A value Zoho computes (read-only whatever the metadata says).
    pub computed: bool,
    /// How a write converts a value.
    pub converter: Converter,
    /// How a query compares values; `None` for types no query compares.
    pub query: Option<ValueKind>,
}

impl TypeFacts {
    /// Whether a bulk write can ever write this type (others are refused when mapped).
    pub fn importable(&self) -> bool {
        self.converter != Converter::None
    }

    /// Whether values come from the field's picklist.
    pub fn is_picklist(&self) -> bool {
        matches!(self.converter, Converter::Picklist | Converter::MultiPicklist)
    }
}

/// A row of the table.
#[allow(clippy::too_many_arguments)]
const fn row(
    name: &'static str,
    json_type: &'static str,
    length: Option<(u32, u32)>,
    shown_length: u32,
    decimal_places: Option<u32>,
    computed: bool,
    converter: Converter,
    query: Option<ValueKind>,
) -> TypeFacts {
    let (default_length, max_length) = match length {
        Some((default, max)) => (Some(default), Some(max)),
        None => (None, None),
    };
    TypeFacts { name, json_type, default_length, max_length, shown_length, decimal_places, computed, converter, query }
}

/// Digits after the decimal point when a decimal field has no `decimal_place`.
pub const DEFAULT_DECIMAL_PLACES: u32 = 2;

impl DataType {
    /// The type's facts: the table.
    pub const fn facts(self) -> TypeFacts {
        use Converter as C;
        use ValueKind as Q;
        const D: Option<u32> = Some(DEFAULT_DECIMAL_PLACES);
        //                                name                   json_type     (default, max)      shown decimals computed converter        query
        match self {
            DataType::Text => row("text", "string", Some((255, 255)), 255, None, false, C::Text, Some(Q::Text)),
            DataType::Textarea => {
                row("textarea", "string", Some((32_000, 50_000)), 32_000, None, false, C::Text, Some(Q::Text))
            }
            DataType::Email => row("email", "string", Some((100, 100)), 100, None, false, C::Email, Some(Q::Text)),
            DataType::Phone => row("phone", "string", Some((30, 30)), 30, None, false, C::Phone, Some(Q::Text)),
            DataType::Website => {
                row("website", "string", Some((255, 450)), 255, None, false, C::Website, Some(Q::Text))
            }
            DataType::Picklist => {
                row("picklist", "string", Some((255, 255)), 255, None, false, C::Picklist, Some(Q::Text))
            }
            DataType::MultiSelectPicklist => row(
                "multiselectpicklist",
                "jsonarray",
                Some((255, 255)),
                255,
                None,
                false,
                C::MultiPicklist,
                Some(Q::MultiSelect),
            ),
            DataType::Date => row("date", "string", None, 20, None, false, C::Date, Some(Q::Date)),
            DataType::DateTime => row("datetime", "string", None, 120, None, false, C::DateTime, Some(Q::DateTime)),
            DataType::Integer => row("integer", "integer", Some((9, 9)), 9, None, false, C::Integer, Some(Q::Number)),
            DataType::BigInt => row("bigint", "string", Some((18, 18)), 18, None, false, C::BigInt, Some(Q::Number)),
            DataType::Double => row("double", "double", Some((16, 18)), 16, D, false, C::Decimal, Some(Q::Number)),
            DataType::Currency => row("currency", "double", Some((16, 16)), 16, D, false, C::Decimal, Some(Q::Number)),
            DataType::Percent => row("percent", "double", Some((5, 5)), 5, D, false, C::Percent, Some(Q::Number)),
            DataType::Boolean => row("boolean", "boolean", None, 5, None, false, C::Boolean, Some(Q::Boolean)),
            DataType::Lookup => row("lookup", "jsonobject", None, 120, None, false, C::Lookup, Some(Q::Reference)),
            DataType::OwnerLookup => {
                row("ownerlookup", "jsonobject", None, 120, None, false, C::Owner, Some(Q::Reference))
            }
            DataType::UserLookup => {
                row("userlookup", "jsonobject", None, 120, None, false, C::User, Some(Q::Reference))
            }
            DataType::Layout => row("layout", "jsonobject", None, 120, None, false, C::Layout, None),
            DataType::AutoNumber => row("autonumber", "string", None, 255, None, true, C::None, Some(Q::Text)),
            DataType::Formula => row("formula", "string", None, 255, None, true, C::None, None),
            DataType::RollupSummary => row("rollup_summary", "string", None, 120, None, true, C::None, None),
            DataType::Subform => row("subform", "jsonarray", None, 50, None, false, C::None, None),
            DataType::MultiSelectLookup => row("multiselectlookup", "jsonarray", None, 50, None, false, C::None, None),
            DataType::MultiUserLookup => row("multiuserlookup", "jsonarray", None, 50, None, false, C::None, None),
            DataType::FileUpload => row("fileupload", "string", None, 255, None, false, C::None, None),
            DataType::ImageUpload => row("imageupload", "string", None, 255, None, false, C::None, None),
            DataType::ProfileImage => row("profileimage", "string", None, 120, None, false, C::None, None),
            DataType::Unsupported => row("unsupported", "string", None, 120, None, false, C::None, None),
        }
    }

    /// The `data_type` string of field metadata.
    pub const fn as_str(self) -> &'static str {
        self.facts().name
    }

    /// Zoho's `json_type` for the field metadata API.
    pub const fn json_type(self) -> &'static str {
        self.facts().json_type
    }

    /// Whether a bulk write can ever write this type (others are refused when mapped).
    pub fn is_importable(self) -> bool {
        self.facts().importable()
    }

    /// Which module a field of the type points at, if any.
    pub const fn relation(self) -> Relation {
        match self {
            DataType::Lookup => Relation::Lookup,
            DataType::Subform => Relation::Subform,
            DataType::MultiSelectLookup => Relation::MultiSelectLookup,
            DataType::Text
            | DataType::Textarea
            | DataType::Email
            | DataType::Phone
            | DataType::Website
            | DataType::Picklist
            | DataType::MultiSelectPicklist
            | DataType::Date
            | DataType::DateTime
            | DataType::Integer
            | DataType::BigInt
            | DataType::Double
            | DataType::Currency
            | DataType::Percent
            | DataType::Boolean
            | DataType::OwnerLookup
            | DataType::UserLookup
            | DataType::Layout
            | DataType::AutoNumber
            | DataType::Formula
            | DataType::RollupSummary
            | DataType::MultiUserLookup
            | DataType::FileUpload
            | DataType::ImageUpload
            | DataType::ProfileImage
            | DataType::Unsupported => Relation::None,
        }
    }

    /// Every type, in declaration order (for tests and listings).
    pub const ALL: [DataType; 29] = [
        DataType::Text,
        DataType::Textarea,
        DataType::Email,
        DataType::Phone,
        DataType::Website,
        DataType::Picklist,
        DataType::MultiSelectPicklist,
        DataType::Date,
        DataType::DateTime,
        DataType::Integer,
        DataType::BigInt,
        DataType::Double,
        DataType::Currency,
        DataType::Percent,
        DataType::Boolean,
        DataType::Lookup,
        DataType::OwnerLookup,
        DataType::UserLookup,
        DataType::Layout,
        DataType::AutoNumber,
        DataType::Formula,
        DataType::RollupSummary,
        DataType::Subform,
        DataType::MultiSelectLookup,
        DataType::MultiUserLookup,
        DataType::FileUpload,
        DataType::ImageUpload,
        DataType::ProfileImage,
        DataType::Unsupported,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde() {
        for data_type in DataType::ALL {
            let parsed: DataType = serde_json::from_value(serde_json::json!(data_type.as_str())).unwrap();
            assert_eq!(parsed, data_type, "{}", data_type.as_str());
        }
    }

    #[test]
    fn defaults_stay_within_zohos_maximums() {
        for data_type in DataType::ALL {
            let facts = data_type.facts();
            assert_eq!(facts.default_length.is_some(), facts.max_length.is_some(), "{}", facts.name);
            if let (Some(default), Some(max)) = (facts.default_length, facts.max_length) {
                assert!(default <= max, "{}", facts.name);
                assert_eq!(facts.shown_length, default, "{}", facts.name);
            }
        }
    }

    #[test]
    fn picklists_share_one_default_length() {
        assert_eq!(DataType::MultiSelectPicklist.facts().default_length, DataType::Picklist.facts().default_length);
    }

    #[test]
    fn only_typed_converters_are_importable() {
        let importable: Vec<&str> = DataType::ALL.iter().filter(|t| t.is_importable()).map(|t| t.as_str()).collect();
        assert_eq!(
            importable,
            [
                "text",
                "textarea",
                "email",
                "phone",
                "website",
                "picklist",
                "multiselectpicklist",
                "date",
                "datetime",
                "integer",
                "bigint",
                "double",
                "currency",
                "percent",
                "boolean",
                "lookup",
                "ownerlookup",
                "userlookup",
                "layout"
            ]
        );
    }
}
