//! The org's users as owner lookups see them.

use std::collections::HashMap;

use crate::ids::UserId;
use crate::FastHasher;

/// A user that records may be assigned to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEntry {
    /// The user's id.
    pub id: UserId,
    /// First and last name, as lookups display it.
    pub full_name: String,
    /// The user's email, which `find_by: "email"` matches (case-insensitive).
    pub email: String,
}

/// The org's active users, by id and by email. Every row that names an owner looks it up, so
/// the maps hash with `crate::FastHasher`.
#[derive(Debug, Clone, Default)]
pub struct UserDirectory {
    by_id: HashMap<UserId, UserEntry, FastHasher>,
    by_email: HashMap<String, UserId, FastHasher>,
}

impl UserDirectory {
    /// A directory of `users`.
    pub fn new(users: impl IntoIterator<Item = UserEntry>) -> UserDirectory {
        let mut directory = UserDirectory::default();
        for user in users {
            directory.by_email.insert(user.email.to_lowercase(), user.id);
            directory.by_id.insert(user.id, user);
        }
        directory
    }

    /// The user with that id, if active in the org.
    pub fn get(&self, id: UserId) -> Option<&UserEntry> {
        self.by_id.get(&id)
    }

    /// A user by id (`find_by` absent or `id`) or by email (`find_by: "email"`).
    pub fn resolve(&self, text: &str, by_email: bool) -> Option<&UserEntry> {
        if by_email {
            let id = self.by_email.get(&text.to_lowercase())?;
            return self.by_id.get(id);
        }
        self.by_id.get(&UserId::parse(text)?)
    }
}
