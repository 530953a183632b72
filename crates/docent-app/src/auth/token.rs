//! Random secrets and their stored hashes. Only hashes reach the database, so a leaked
//! database does not leak working sessions, keys or reset links.

use sha2::{Digest, Sha256};

/// A new random secret: `bytes` random bytes, hex-encoded.
pub fn generate(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    // The OS random source failing means the machine cannot produce secrets at all.
    getrandom::fill(&mut buf).expect("the operating system's random source is unavailable");
    hex(&buf)
}

/// SHA-256 of a secret, hex-encoded. Secrets are 128+ random bits, so no salt or stretching
/// is needed (unlike passwords).
pub fn hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// Compares two secrets in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// A new API key secret and the prefix shown in lists: `dk_` + 48 hex characters.
pub fn api_key() -> (String, String) {
    let secret = format!("dk_{}", generate(24));
    let prefix = secret[..11].to_owned();
    (secret, prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_hashes_stable() {
        let a = generate(32);
        assert_eq!(a.len(), 64);
        assert_ne!(a, generate(32));
        assert_eq!(hash("x"), hash("x"));
        assert_ne!(hash("x"), hash("y"));
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
        let (key, prefix) = api_key();
        assert!(key.starts_with(&prefix) && prefix.starts_with("dk_") && key.len() == 51);
    }
}
