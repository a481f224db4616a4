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

/// An OAuth client id shaped like Zoho's: `1000.` and 30 upper-case letters and digits.
pub fn generate_client_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rng();
    let tail: String = (0..30).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
    format!("1000.{tail}")
}

/// A client secret: 42 lower-case hex characters.
pub fn generate_client_secret() -> String {
    let mut rng = rand::rng();
    let a: u128 = rng.random();
    let b: u128 = rng.random();
    let text = format!("{a:032x}{b:032x}");
    text[..42].to_string()
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
