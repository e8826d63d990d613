//! Fuzz target: the OMS bundle, in-toto statement and certificate parsers behind
//! `warden verify` must never panic, hang or allocate without bound on hostile bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(bundle) = warden_integrity::bundle::Bundle::from_json(data) {
        let _ = warden_integrity::statement::from_json(&bundle.payload);
        if let warden_integrity::bundle::VerificationMaterial::CertificateChain(ders) = &bundle.material {
            if let Ok(chain) = warden_integrity::x509::parse_all(ders, "fuzz") {
                let _ = warden_integrity::x509::verify_chain(&chain, &chain);
            }
        }
    }
    // The statement parser is reached directly too: its input is attacker-chosen when a
    // signer is compromised or buggy.
    let _ = warden_integrity::statement::from_json(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = warden_integrity::keys::pem_blocks(text);
    }
});
