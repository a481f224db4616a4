//! What only the embedded backend has: upgrades of an existing file, chunks batched in one
//! transaction, the file's page size.

mod batched;
mod pages;
mod upgrade;
