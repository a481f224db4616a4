//! Consent-page passwords, stored as `pbkdf2-sha256$<rounds>$<salt hex>$<hash hex>`.

use rand::Rng;
use sha2::Sha256;

const ROUNDS: u32 = 100_000;

/// Hashes a password with a fresh salt.
pub fn hash_password(password: &str) -> String {
    let salt: [u8; 16] = rand::rng().random();
    let hash = derive(password, &salt, ROUNDS);
    format!("pbkdf2-sha256${ROUNDS}${}${}", hex::encode(salt), hex::encode(hash))
}

/// Whether `password` matches a stored hash (constant-time comparison).
pub fn verify_password(password: &str, stored: &str) -> bool {
    let parts: Vec<&str> = stored.split('$').collect();
    let [scheme, rounds, salt, hash] = parts.as_slice() else { return false };
    if *scheme != "pbkdf2-sha256" {
        return false;
    }
    let (Ok(rounds), Ok(salt), Ok(expected)) = (rounds.parse::<u32>(), hex::decode(salt), hex::decode(hash)) else {
        return false;
    };
    let actual = derive(password, &salt, rounds.clamp(1, 10_000_000));
    actual.len() == expected.len() && actual.iter().zip(&expected).fold(0u8, |diff, (a, b)| diff | (a ^ b)) == 0
}

fn derive(password: &str, salt: &[u8], rounds: u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, rounds, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ_by_salt() {
        let first = hash_password("correct horse");
        assert!(verify_password("correct horse", &first));
        assert!(!verify_password("wrong horse", &first));
        assert_ne!(first, hash_password("correct horse"));
        assert!(!verify_password("x", "garbage"));
        assert!(!verify_password("x", "pbkdf2-sha256$abc$00$00"));
    }
}
