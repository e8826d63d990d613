//! Time-based one-time passwords (RFC 6238: SHA-1, 6 digits, 30-second steps, one step of clock
//! skew either way). Seeds are 160-bit random values sealed with the server key; each step is
//! accepted once per user (`users.totp_last_step`), so a code seen by someone else cannot be replayed.

use totp_rs::{Algorithm, TOTP};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The sealing label of TOTP seeds.
pub const SEAL_LABEL: &str = "totp-seed";
/// Seconds per step.
pub const STEP_SECONDS: u64 = 30;

/// The TOTP generator for a seed, labelled for authenticator apps.
pub fn generator(seed: &[u8], username: &str) -> ApiResult<TOTP> {
    let account = username.replace(':', "_");
    TOTP::new(Algorithm::SHA1, 6, 1, STEP_SECONDS, seed.to_vec(), Some("warden".into()), account)
        .map_err(|e| ApiError::Internal(format!("TOTP setup: {e}")))
}

/// A fresh seed.
pub fn new_seed() -> Vec<u8> {
    let mut seed = vec![0u8; 20];
    getrandom::fill(&mut seed).expect("the operating system's random source");
    seed
}

/// Checks `code` against the sealed seed. Returns the step it belongs to when it is valid now
/// (one step of skew) and newer than `last_step`; `None` when wrong or replayed.
pub fn check(app: &AppState, username: &str, sealed: &str, code: &str, last_step: i64) -> ApiResult<Option<i64>> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let seed = app.keys.unseal(SEAL_LABEL, sealed).map_err(|e| ApiError::Internal(e.to_string()))?;
    let totp = generator(&seed, username)?;
    let now = u64::try_from(crate::store::now_ms() / 1000).unwrap_or(0);
    Ok(matching_step(&totp, code, now).filter(|step| *step > last_step))
}

/// The step (of now-1, now, now+1) whose code equals `code`.
pub fn matching_step(totp: &TOTP, code: &str, now_s: u64) -> Option<i64> {
    let current = now_s / STEP_SECONDS;
    [current.saturating_sub(1), current, current + 1].into_iter().find_map(|step| {
        let expected = totp.generate(step * STEP_SECONDS);
        crate::identity::constant_time_eq(expected.as_bytes(), code.as_bytes()).then(|| i64::try_from(step).unwrap_or(i64::MAX))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_vector_and_skew() {
        // RFC 6238 appendix B, SHA-1 seed "12345678901234567890", T = 59 s -> 94287082 (8 digits);
        // the 6-digit code is its last six digits.
        let totp = generator(b"12345678901234567890", "alice").unwrap();
        assert_eq!(totp.generate(59), "287082");
        assert_eq!(matching_step(&totp, "287082", 59), Some(1));
        assert_eq!(matching_step(&totp, "287082", 59 + 30), Some(1), "one step of skew is accepted");
        assert_eq!(matching_step(&totp, "287082", 59 + 90), None, "three steps later it is not");
        assert_eq!(matching_step(&totp, "000000", 59), None);
    }
}
