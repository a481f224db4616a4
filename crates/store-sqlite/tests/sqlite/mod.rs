//! What only the embedded backend has: upgrades of an existing file, chunks batched in one
//! transaction.

mod batched;
mod upgrade;
