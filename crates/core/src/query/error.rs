//! Why a query could not be built. Each surface (search, COQL, Bulk Read) turns these into its
//! own Zoho code and `details`; the variants carry what those need.

/// A query refused while it was built against the schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// No field of the module has this API name.
    #[error("the field {field} does not exist in the module")]
    UnknownField {
        /// The name as the client wrote it.
        field: String,
    },
    /// The field exists but its type cannot be compared or sorted (subforms, files, formulas …).
    #[error("the field {field} cannot be used in a query")]
    UnsupportedField {
        /// The field's API name.
        field: String,
    },
    /// The comparator does not apply to the field's type.
    #[error("the comparator {comparator} is not supported for the field {field}")]
    UnsupportedComparator {
        /// The field's API name.
        field: String,
        /// The comparator as the surface spells it.
        comparator: String,
    },
    /// Too few or too many values for the comparator.
    #[error("the comparator {comparator} takes another number of values for the field {field}")]
    WrongValueCount {
        /// The field's API name.
        field: String,
        /// The comparator as the surface spells it.
        comparator: String,
    },
    /// A value that is not of the field's type.
    #[error("the value {value} is invalid for the field {field}")]
    InvalidValue {
        /// The field's API name.
        field: String,
        /// The refused value, as text.
        value: String,
    },
}

impl QueryError {
    /// The API name of the field the error is about.
    pub fn field(&self) -> &str {
        match self {
            QueryError::UnknownField { field }
            | QueryError::UnsupportedField { field }
            | QueryError::UnsupportedComparator { field, .. }
            | QueryError::WrongValueCount { field, .. }
            | QueryError::InvalidValue { field, .. } => field,
        }
    }
}
