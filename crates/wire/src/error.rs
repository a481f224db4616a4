//! The one table of Zoho error codes: code → HTTP status → default message.
//!
//! No handler chooses a status code: it picks an [`ErrorCode`] and the table says the rest.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

macro_rules! error_codes {
    ($( $variant:ident => ($code:literal, $status:literal, $message:literal), )*) => {
        /// Every error code the server answers with, as Zoho spells it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $(
                #[doc = concat!("`", $code, "`, HTTP ", stringify!($status), ": \"", $message, "\".")]
                $variant,
            )*
        }

        impl ErrorCode {
            /// All codes, in table order.
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$variant, )* ];

            /// The code as it appears on the wire, e.g. `INVALID_DATA`.
            pub fn as_str(self) -> &'static str {
                match self { $( ErrorCode::$variant => $code, )* }
            }

            /// The HTTP status Zoho answers with. Where Zoho's sources disagree, the table takes
            /// `INVALID_FILE_FORMAT` 400, `RESOURCE_NOT_FOUND` 404, `OAUTH_SCOPE_MISMATCH` 401,
            /// `FILE_TOO_LARGE` 413 and `TOO_MANY_REQUESTS` 429.
            pub fn http_status(self) -> u16 {
                match self { $( ErrorCode::$variant => $status, )* }
            }

            /// The message used when the caller gives none.
            pub fn default_message(self) -> &'static str {
                match self { $( ErrorCode::$variant => $message, )* }
            }

            /// Looks a wire code up; `None` for codes this table does not know.
            pub fn parse(code: &str) -> Option<ErrorCode> {
                match code { $( $code => Some(ErrorCode::$variant), )* _ => None }
            }
        }
    };
}

error_codes! {
    // Authentication and authorisation, on the CRM API host.
    InvalidToken => ("INVALID_TOKEN", 401, "invalid oauth token"),
    AuthenticationFailure => ("AUTHENTICATION_FAILURE", 401, "Authentication failed"),
    OauthScopeMismatch => ("OAUTH_SCOPE_MISMATCH", 401, "invalid oauth scope to access this URL"),
    NoPermission => ("NO_PERMISSION", 403, "permission denied"),
    AuthorizationFailed => ("AUTHORIZATION_FAILED", 400, "User does not have sufficient privilege to create."),
    // Transport.
    InvalidUrlPattern => ("INVALID_URL_PATTERN", 404, "Please check if the URL trying to access is a correct one"),
    InvalidRequestMethod => ("INVALID_REQUEST_METHOD", 400, "The http request method type is not a valid one"),
    RequestBodyNotSupported => ("REQUEST_BODY_NOT_SUPPORTED", 400, "request body contains invalid format"),
    MediaTypeNotSupported => ("MEDIA_TYPE_NOT_SUPPORTED", 415, "The Content-Type header of the request is not supported"),
    TooManyRequests => ("TOO_MANY_REQUESTS", 429, "too many requests"),
    InternalError => ("INTERNAL_ERROR", 500, "Internal Server Error"),
    InsufficientStorage => ("INSUFFICIENT_STORAGE", 507, "There is not enough storage space to process the request; try again later"),
    // Upload.
    FileTooLarge => ("FILE_TOO_LARGE", 413, "File size too large to process"),
    InvalidFileFormat => ("INVALID_FILE_FORMAT", 400, "invalid file format. only zip format is supported"),
    NotSupportedFeature => ("NOT_SUPPORTED_FEATURE", 400, "Feature is not supported"),
    // Create job: every code found across Zoho's docs, SDK enums and the v8 OpenAPI spec.
    MissingRequiredKey => ("MISSING_REQUIRED_KEY", 400, "required key is not found in request body."),
    MandatoryNotFound => ("MANDATORY_NOT_FOUND", 400, "required field not found"),
    MandatoryFieldsNotMapped => ("MANDATORY_FIELDS_NOT_MAPPED", 400, "All mandatory fields are not mapped for the layout"),
    InvalidField => ("INVALID_FIELD", 400, "invalid mapping."),
    InvalidFormat => ("INVALID_FORMAT", 400, "invalid format"),
    InvalidFileId => ("INVALID_FILE_ID", 400, "improper file id"),
    FileNotFound => ("FILE_NOT_FOUND", 400, "file not found"),
    FileNotSupported => ("FILE_NOT_SUPPORTED", 400, "File not supported for bulk write"),
    HeaderLimitExceeded => ("HEADER_LIMIT_EXCEEDED", 400, "header limit exceeded"),
    ColumnIndexNotFound => ("COLUMN_INDEX_NOT_FOUND", 400, "column index not found"),
    ModuleNotAvailable => ("MODULE_NOT_AVAILABLE", 400, "Requested module is not available."),
    InvalidData => ("INVALID_DATA", 400, "invalid data"),
    InvalidCallbackUrl => ("INVALID_CALLBACK_URL", 400, "Invalid callback URL provided"),
    InvalidCallbackMethod => ("INVALID_CALLBACK_METHOD", 400, "invalid callback method"),
    CoexistenceNotAllowed => ("COEXISTENCE_NOT_ALLOWED", 400, "coexistence not allowed"),
    InvalidRequest => ("INVALID_REQUEST", 400, "invalid request"),
    AlreadyUsed => ("ALREADY_USED", 400, "the file is already used by another bulk write job"),
    LimitExceeded => ("LIMIT_EXCEEDED", 400, "limit exceeded"),
    // Job details and records.
    ResourceNotFound => ("RESOURCE_NOT_FOUND", 404, "The requested resource doesn't exist."),
    InvalidModule => ("INVALID_MODULE", 400, "the module name given seems to be invalid"),
    RequiredParamMissing => ("REQUIRED_PARAM_MISSING", 400, "One of the expected parameter is missing"),
    DiscretePaginationLimitExceeded => ("DISCRETE_PAGINATION_LIMIT_EXCEEDED", 400, "The number of records you can get through page and per_page is limited; use page_token"),
    DuplicateData => ("DUPLICATE_DATA", 400, "duplicate data"),
    // Records search and COQL (DECISIONS.md: messages and `details` as Zoho's API pages show them).
    InvalidQuery => ("INVALID_QUERY", 400, "Invalid query formed"),
    SyntaxError => ("SYNTAX_ERROR", 400, "error occured while parsing the query"),
    ExpectedParamMissing => ("EXPECTED_PARAM_MISSING", 400, "one of the expected parameter is missing"),
    CriteriaLimitExceeded => ("CRITERIA_LIMIT_EXCEEDED", 400, "no of criterium that can be given exceed the limit 10"),
    LimitReached => ("LIMIT_REACHED", 400, "maximum response iteration limit reached"),
    // COQL aliases (codes of Zoho's v8 COQL spec, `Invalid_Alias_Exception` and
    // `Duplicate_Alias_Exception`; the spec gives no sentences, these are ours).
    InvalidAlias => ("INVALID_ALIAS", 400, "invalid alias found"),
    DuplicateAlias => ("DUPLICATE_ALIAS", 400, "duplicate alias found"),
    // Bulk Read: the codes and sentences of Bulk Read's error model in the official SDKs
    // (`zohocrmsdk2-0` 6.0.0, `bulk_read.APIException`: its `code` and `message` choices) and
    // the v8 OpenAPI spec (zoho/crm-oas `v8.0/bulk_read.json`); callers fill in the `%s`.
    RequestBodyIsEmpty => ("REQUEST_BODY_IS_EMPTY", 400, "Request body is empty."),
    ModuleNotSupported => ("MODULE_NOT_SUPPORTED", 400, "Invalid module for the query."),
    CvidNotSupported => ("CVID_NOT_SUPPORTED", 400, "Invalid custom view for the query."),
    InvalidCriteria => ("INVALID_CRITERIA", 400, "Invalid criteria for the query."),
    AmbiguousCriteria => ("AMBIGUOUS_CRITERIA", 400, "Ambiguous criteria. Criteria can have either {group, group_operator} or {api_name, comparator, value}."),
    AmbiguousGroupInCriteria => ("AMBIGUOUS_GROUP_IN_CRITERIA", 400, "Ambiguous group in criteria. Group should be used only when there are more than one criteria"),
    GroupOperatorNotSupported => ("GROUP_OPERATOR_NOT_SUPPORTED", 400, "Supported operators are 'and', 'or'."),
    FieldInCriteriaNotAvailable => ("FIELD_IN_CRITERIA_NOT_AVAILABLE", 400, "Field api name is not available for criteria. Check visibility and permission for the field"),
    FieldInCriteriaNotSupported => ("FIELD_IN_CRITERIA_NOT_SUPPORTED", 400, "Field api name for criteria is not supported."),
    FieldComparatorInCriteriaNotSupported => ("FIELD_COMPARATOR_IN_CRITERIA_NOT_SUPPORTED", 400, "Field api name doesn't support this comparator for criteria."),
    FieldAndComparatorInCriteriaNotCompatible => ("FIELD_AND_COMPARATOR_IN_CRITERIA_NOT_COMPATIBLE", 400, "Field api name is not supported with comparator for criteria."),
    FieldAndValueInCriteriaNotCompatible => ("FIELD_AND_VALUE_IN_CRITERIA_NOT_COMPATIBLE", 400, "Field is not supported with value for criteria."),
    ComparatorAndValueInCriteriaNotCompatible => ("COMPARATOR_AND_VALUE_IN_CRITERIA_NOT_COMPATIBLE", 400, "Comparator is not supported with value for criteria."),
    ValueInCriteriaNotSupported => ("VALUE_IN_CRITERIA_NOT_SUPPORTED", 400, "Value is not supported for criteria."),
    FieldNotAvailable => ("FIELD_NOT_AVAILABLE", 400, "Requested field api name is not available for the module. Check permission or visibility for the field."),
    FieldNotSupported => ("FIELD_NOT_SUPPORTED", 400, "Invalid field for the module provided in fields."),
    PageNotSupported => ("PAGE_NOT_SUPPORTED", 400, "Invalid page number for query."),
    PageRangeExceeded => ("PAGE_RANGE_EXCEEDED", 400, "Invalid page number for query."),
}

/// A Zoho error as it travels: the code from the table, a message and a `details` object.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// Which error it is; decides the HTTP status.
    pub code: ErrorCode,
    /// The message: the table's, unless the caller gave a more precise one.
    pub message: String,
    /// What the error names: `api_name`, `json_path`, a limit, … (an empty object when nothing).
    pub details: Map<String, Value>,
}

impl ApiError {
    /// The code with its default message and empty `details`.
    pub fn new(code: ErrorCode) -> ApiError {
        ApiError { code, message: code.default_message().to_string(), details: Map::new() }
    }

    /// The code with a specific message.
    pub fn with_message(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError { code, message: message.into(), details: Map::new() }
    }

    /// Adds one `details` entry.
    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> ApiError {
        self.details.insert(key.to_string(), value.into());
        self
    }

    /// `MISSING_REQUIRED_KEY` in the recorded sentence: `required key <key> is not found in request body.`
    pub fn missing_key(key: &str) -> ApiError {
        ApiError::with_message(
            ErrorCode::MissingRequiredKey,
            format!("required key {key} is not found in request body."),
        )
    }

    /// `INVALID_DATA` for a key of the request body, with its api name and JSON path.
    pub fn invalid_key(api_name: &str, json_path: &str) -> ApiError {
        ApiError::new(ErrorCode::InvalidData).detail("api_name", api_name).detail("json_path", json_path)
    }

    /// The HTTP status from the table.
    pub fn http_status(&self) -> u16 {
        self.code.http_status()
    }

    /// The body as sent on the wire.
    pub fn to_body(&self) -> ErrorBody {
        ErrorBody {
            status: "error".to_string(),
            code: self.code.as_str().to_string(),
            message: self.message.clone(),
            details: self.details.clone(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for ApiError {}

/// The bare error envelope of the CRM API (`status`, `code`, `message`, `details`, not wrapped in
/// `data[]`), in the recorded key order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Always `error`.
    pub status: String,
    /// The error code (`INVALID_DATA`).
    pub code: String,
    /// The human-readable message.
    pub message: String,
    /// The error's particulars, an object (often empty).
    #[serde(default)]
    pub details: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_its_wire_name() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(*code));
        }
    }

    #[test]
    fn statuses_follow_decisions() {
        assert_eq!(ErrorCode::InvalidFileFormat.http_status(), 400);
        assert_eq!(ErrorCode::ResourceNotFound.http_status(), 404);
        assert_eq!(ErrorCode::OauthScopeMismatch.http_status(), 401);
        assert_eq!(ErrorCode::FileTooLarge.http_status(), 413);
        assert_eq!(ErrorCode::TooManyRequests.http_status(), 429);
    }

    #[test]
    fn missing_key_body_matches_the_recording() {
        let body = serde_json::to_string(&ApiError::missing_key("fileid").to_body()).unwrap();
        assert_eq!(
            body,
            r#"{"status":"error","code":"MISSING_REQUIRED_KEY","message":"required key fileid is not found in request body.","details":{}}"#
        );
    }
}
