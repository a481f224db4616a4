//! The version segment of Zoho's paths (`/crm/bulk/{v}/write`, `/crm/{v}/upload`, …): one enum
//! for the server and the client.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::job::ModuleRef;

/// A path version. `V2` writes a resource's `module` as a string; every later version as
/// `{"api_name": …}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ApiVersion {
    /// `v2`
    V2,
    /// `v2.1`
    V2_1,
    /// `v3`
    V3,
    /// `v4`
    V4,
    /// `v5`
    V5,
    /// `v6`
    V6,
    /// `v7`
    V7,
    /// `v8`
    V8,
}

impl ApiVersion {
    /// Every version, oldest first.
    pub const ALL: [ApiVersion; 8] = [
        ApiVersion::V2,
        ApiVersion::V2_1,
        ApiVersion::V3,
        ApiVersion::V4,
        ApiVersion::V5,
        ApiVersion::V6,
        ApiVersion::V7,
        ApiVersion::V8,
    ];

    /// The version of a path segment, exactly as Zoho writes it (`v2.1`).
    pub fn parse(text: &str) -> Option<ApiVersion> {
        ApiVersion::ALL.into_iter().find(|v| v.as_str() == text)
    }

    /// The path segment, e.g. `v2.1`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V2 => "v2",
            ApiVersion::V2_1 => "v2.1",
            ApiVersion::V3 => "v3",
            ApiVersion::V4 => "v4",
            ApiVersion::V5 => "v5",
            ApiVersion::V6 => "v6",
            ApiVersion::V7 => "v7",
            ApiVersion::V8 => "v8",
        }
    }

    /// v2 writes `module` as a string and no resource `code`; later versions write objects.
    pub fn writes_module_objects(self) -> bool {
        self != ApiVersion::V2
    }

    /// Parent/child resources (`file_names`, `parent_column_index`) exist from v3 on.
    pub fn has_parent_child(self) -> bool {
        self >= ApiVersion::V3
    }

    /// A module as this version writes it in a create request.
    pub fn module_ref(self, api_name: &str, id: Option<&str>) -> ModuleRef {
        if self.writes_module_objects() {
            ModuleRef::Object { api_name: api_name.to_string(), id: id.map(str::to_string) }
        } else {
            ModuleRef::Name(api_name.to_string())
        }
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ApiVersion {
    type Err = String;

    /// Accepts `v2`, `v2.1`, … `v8`, with or without the leading `v` (for people typing it;
    /// paths use [`ApiVersion::parse`]).
    fn from_str(text: &str) -> Result<ApiVersion, String> {
        let trimmed = text.trim();
        let with_v = if trimmed.starts_with('v') { trimmed.to_string() } else { format!("v{trimmed}") };
        ApiVersion::parse(&with_v).ok_or_else(|| format!("unknown API version '{text}' (expected v2, v2.1, v3 … v8)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_version_and_nothing_else() {
        for version in ApiVersion::ALL {
            assert_eq!(ApiVersion::parse(version.as_str()), Some(version));
        }
        for bad in ["v1", "v9", "V2", "2", "v2.2", ""] {
            assert_eq!(ApiVersion::parse(bad), None);
        }
    }
}
