//! What only the embedded backend has: upgrades of an existing file.

mod upgrade;
