//! Token hashing and generation. Only hashes of tokens are stored.

use rand::Rng;
use sha2::{Digest, Sha256};

/// The stored form of a token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A token shaped like Zoho's: `1000.<32 hex>.<32 hex>`.
pub fn generate_token() -> String {
    let mut rng = rand::rng();
    let a: u128 = rng.random();
    let b: u128 = rng.random();
    format!("1000.{a:032x}.{b:032x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_look_like_zohos_and_hash_stably() {
        let token = generate_token();
        assert_eq!(token.len(), 4 + 1 + 32 + 1 + 32);
        assert!(token.starts_with("1000."));
        assert_eq!(hash_token("x"), hash_token("x"));
        assert_ne!(hash_token("x"), hash_token("y"));
    }
}
