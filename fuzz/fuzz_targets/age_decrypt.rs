//! Fuzz target: the age decryption path (armor detection, header parsing through the `age` crate,
//! passphrase stanzas with a bounded work factor, and the chunked payload) must never panic, hang
//! or allocate without bound on hostile bytes. The first byte picks the whole-file path or the
//! payload reader alone (with a fixed key, so chunk boundaries and truncation are exercised).
#![no_main]

use warden_integrity::crypt::keys::passphrase_identity;
use warden_integrity::crypt::payload::{self, PayloadKey, PayloadOptions};
use warden_integrity::crypt::{DecryptOptions, HeaderKind, HeaderLimits, SecretString, decrypt_stream};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode & 1 == 0 {
        // Work factors above 2^4 are refused, so scrypt stays cheap per input.
        let options = DecryptOptions { limits: HeaderLimits { max_header_bytes: 64 * 1024, max_work_factor: 4 }, ..DecryptOptions::default() };
        let _ = decrypt_stream(
            rest,
            std::io::sink(),
            &mut |kind| match kind {
                HeaderKind::Passphrase => Ok(vec![Box::new(passphrase_identity(SecretString::from("fuzz".to_owned()), 4)) as _]),
                HeaderKind::Recipients => Ok(Vec::new()),
            },
            &options,
        );
    } else {
        let key = PayloadKey::from_bytes([mode; 32]);
        let _ = payload::decrypt(&key, rest, std::io::sink(), PayloadOptions { batch_chunks: 2 });
    }
});
