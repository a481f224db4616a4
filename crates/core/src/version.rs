//! API versions in paths: `v2`, `v2.1`, `v3` … `v8`.

use serde::{Deserialize, Serialize};

/// A path version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ApiVersion {
    V2,
    V2_1,
    V3,
    V4,
    V5,
    V6,
    V7,
    V8,
}

impl ApiVersion {
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

    pub fn parse(text: &str) -> Option<ApiVersion> {
        ApiVersion::ALL.into_iter().find(|v| v.as_str() == text)
    }

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
