//! Passwords: argon2id hashes (PHC strings, parameters stored with each hash), checked on a
//! blocking thread so hashing never stalls the async runtime.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::ApiError;

/// Shortest password accepted.
pub const MIN_LENGTH: usize = 12;
/// Longest password accepted (bytes): hashing cost must not be the attacker's to choose.
pub const MAX_LENGTH: usize = 1024;

/// argon2id with OWASP's recommended minimum: 19 MiB, 2 passes, 1 lane.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Refuses passwords that are too short, too long, or equal to the user name.
pub fn check_policy(username: &str, password: &str) -> Result<(), ApiError> {
    if password.chars().count() < MIN_LENGTH {
        return Err(ApiError::BadRequest(format!("the password needs at least {MIN_LENGTH} characters")));
    }
    if password.len() > MAX_LENGTH {
        return Err(ApiError::BadRequest(format!("the password may have at most {MAX_LENGTH} bytes")));
    }
    if password.eq_ignore_ascii_case(username) {
        return Err(ApiError::BadRequest("the password may not be the user name".into()));
    }
    Ok(())
}

/// Hashes a password (argon2id, random salt) into a PHC string.
pub async fn hash(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        hasher().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await
    .map_err(|e| ApiError::Internal(format!("password hashing task: {e}")))?
    .map_err(|e| ApiError::Internal(format!("password hashing: {e}")))
}

/// Checks `password` against a stored PHC string. With no stored hash (unknown user, SSO-only
/// user) a dummy hash is checked instead, so the answer takes as long either way.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    if password.len() > MAX_LENGTH {
        return false;
    }
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let phc = stored.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let Ok(parsed) = PasswordHash::new(&phc) else { return false };
        // The parameters come from the stored hash, so old hashes keep verifying after a change.
        let ok = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
        ok && known
    })
    .await
    .unwrap_or(false)
}

/// A hash of a random password with the current parameters, checked when the user is unknown.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0S8MiUJRt7n2yW3Hu0v5m3Z0M8zYc8b0JYPqzu0cj0M";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_wrong_passwords_do_not() {
        let phc = hash("correct horse battery".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse battery".into(), Some(phc.clone())).await);
        assert!(!verify("wrong horse battery".into(), Some(phc)).await);
        assert!(!verify("anything at all".into(), None).await);
    }

    #[test]
    fn policy_refuses_weak_passwords() {
        assert!(check_policy("alice", "short").is_err());
        assert!(check_policy("alice-the-admin", "ALICE-THE-ADMIN").is_err());
        assert!(check_policy("alice", &"x".repeat(MAX_LENGTH + 1)).is_err());
        assert!(check_policy("alice", "a sufficiently long one").is_ok());
    }
}
