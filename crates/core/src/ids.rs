//! Newtype ids. Every id but the org's `zgid` is a 19-digit decimal string on the wire.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! digit_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(into = "String", try_from = "String")]
        pub struct $name(u64);

        impl $name {
            /// The id with that number.
            pub fn new(value: u64) -> $name {
                $name(value)
            }

            /// For constants.
            pub const fn new_const(value: u64) -> $name {
                $name(value)
            }

            /// Parses a decimal digit string (what clients send).
            pub fn parse(text: &str) -> Option<$name> {
                if text.is_empty() || text.len() > 19 || !text.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                text.parse().ok().map($name)
            }

            /// The id's number.
            pub fn get(self) -> u64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0.to_string()
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(text: String) -> Result<$name, String> {
                $name::parse(&text).ok_or_else(|| format!("'{text}' is not an id"))
            }
        }
    };
}

digit_id!(
    /// An org's `zgid` (9 digits).
    OrgId
);
digit_id!(
    /// A user of an org.
    UserId
);
digit_id!(
    /// A bulk write job.
    JobId
);
digit_id!(
    /// An uploaded zip.
    FileId
);
digit_id!(
    /// A CRM record.
    RecordId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_digits_only() {
        assert_eq!(JobId::parse("4150868000005392002").map(JobId::get), Some(4150868000005392002));
        assert_eq!(JobId::parse(""), None);
        assert_eq!(JobId::parse("12a"), None);
        assert_eq!(JobId::parse("-1"), None);
        assert_eq!(JobId::parse("99999999999999999999"), None);
    }

    #[test]
    fn serialises_as_a_string() {
        assert_eq!(serde_json::to_string(&RecordId::new(7)).unwrap(), "\"7\"");
        assert_eq!(serde_json::from_str::<RecordId>("\"7\"").unwrap(), RecordId::new(7));
    }
}
