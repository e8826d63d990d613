//! Tests of checkpoints and signed notes: known keys and notes, tampering, wrong keys.

use super::*;
use crate::tree::leaf_hash;

// The example key pair of Go's golang.org/x/mod/sumdb/note documentation.
const PETER_SKEY: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
// Its example note, signed by that key.
const PETER_NOTE: &str = "If you think cryptography is the answer to your problem,\n\
    then you don't know what your problem is.\n\
    \n\
    — PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

#[test]
fn signing_with_the_go_example_key_gives_the_independently_computed_note() {
    let signer = CheckpointSigner::new(PETER_SKEY).unwrap();
    assert_eq!(signer.origin(), "PeterNeumann");
    assert_eq!(signer.verifier_key(), PETER_VKEY);
    let note = signer.sign(5, &leaf_hash(b"hello world")).unwrap();
    // Expected value computed with Python's `cryptography` Ed25519 over the same body
    // (the same script reproduces the Go example signature above).
    assert_eq!(
        note,
        "PeterNeumann\n5\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n\n\
         — PeterNeumann x08go3czqb8bQBpIYVTo2haBZaOs5+4MvBt9Y+2a/8cBerCmXo3vOcvbFerdzpJzO37PmDWzUaRVpo1tM57OVtiAkgY=\n"
    );
    let checkpoint = CheckpointVerifier::new(PETER_VKEY).unwrap().verify(note.as_bytes()).unwrap();
    assert_eq!(checkpoint, Checkpoint { origin: "PeterNeumann".into(), size: 5, root: leaf_hash(b"hello world") });
}

#[test]
fn the_go_example_note_verifies_but_is_no_checkpoint() {
    let verifier = CheckpointVerifier::new(PETER_VKEY).unwrap();
    assert!(matches!(verifier.verify(PETER_NOTE.as_bytes()), Err(CheckpointError::MalformedBody)));
    let altered = PETER_NOTE.replace("cryptography", "cryptographY");
    assert!(matches!(verifier.verify(altered.as_bytes()), Err(CheckpointError::BadSignature { .. })));
}

#[test]
fn generated_keys_round_trip() {
    let (skey, vkey) = CheckpointSigner::generate("warden.example/audit").unwrap();
    assert!(skey.starts_with("PRIVATE+KEY+warden.example/audit+"));
    let signer = CheckpointSigner::new(&skey).unwrap();
    assert_eq!(signer.verifier_key(), vkey);
    assert!(!format!("{signer:?}").contains(&skey), "Debug must not print the secret key");
    let root = leaf_hash(b"root");
    let cp = CheckpointVerifier::new(&vkey).unwrap().verify(signer.sign(42, &root).unwrap().as_bytes()).unwrap();
    assert_eq!((cp.origin.as_str(), cp.size, cp.root), ("warden.example/audit", 42, root));
    assert!(matches!(CheckpointSigner::generate("two words"), Err(CheckpointError::InvalidName(_))));
    assert!(matches!(CheckpointSigner::generate("a+b"), Err(CheckpointError::InvalidName(_))));
    assert!(matches!(CheckpointSigner::generate("bell\u{7}"), Err(CheckpointError::InvalidName(_))));
}

#[test]
fn verification_errors_say_what_is_wrong() {
    let (skey, vkey) = CheckpointSigner::generate("log.a").unwrap();
    let (other_skey, _) = CheckpointSigner::generate("log.b").unwrap();
    let verifier = CheckpointVerifier::new(&vkey).unwrap();
    let note = CheckpointSigner::new(&skey).unwrap().sign(3, &leaf_hash(b"r")).unwrap();

    let foreign = CheckpointSigner::new(&other_skey).unwrap().sign(3, &leaf_hash(b"r")).unwrap();
    match verifier.verify(foreign.as_bytes()) {
        Err(CheckpointError::UnknownKey { found, .. }) => assert!(found.starts_with("log.b+"), "{found}"),
        other => panic!("{other:?}"),
    }
    let resized = note.replacen("\n3\n", "\n4\n", 1);
    assert!(matches!(verifier.verify(resized.as_bytes()), Err(CheckpointError::BadSignature { .. })));
    for garbage in ["", "log.a\n3\n", "no signature block\n\n", "\u{0}\n\n— x AAAA\n"] {
        assert!(matches!(verifier.verify(garbage.as_bytes()), Err(CheckpointError::MalformedNote)), "{garbage:?}");
    }
    assert!(matches!(verifier.verify(&vec![b'a'; MAX_NOTE_BYTES + 1]), Err(CheckpointError::MalformedNote)));

    // A checkpoint for another origin, signed by the trusted key, is refused.
    let signer = CheckpointSigner::new(&skey).unwrap();
    let body = "other.log\n3\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n";
    let mut wrong = Note::new(body.as_bytes(), &[]).unwrap();
    wrong.add_sigs(&[&signer.signer]).unwrap();
    match verifier.verify(&wrong.to_bytes()) {
        Err(CheckpointError::WrongOrigin { expected, found }) => assert_eq!((expected.as_str(), found.as_str()), ("log.a", "other.log")),
        other => panic!("{other:?}"),
    }
    // Another signature next to the trusted one is ignored.
    let mut cosigned = Note::from_bytes(note.as_bytes()).unwrap();
    cosigned.add_sigs(&[&CheckpointSigner::new(&other_skey).unwrap().signer]).unwrap();
    assert_eq!(verifier.verify(&cosigned.to_bytes()).unwrap().size, 3);
}

#[test]
fn keys_are_validated() {
    for bad in ["", "PRIVATE+KEY+x", "PRIVATE+KEY+x+00000000+AAAA", PETER_VKEY] {
        assert!(matches!(CheckpointSigner::new(bad), Err(CheckpointError::MalformedKey { .. })), "{bad}");
    }
    for bad in ["", "x+1234+AAAA", PETER_SKEY, "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"] {
        assert!(matches!(CheckpointVerifier::new(bad), Err(CheckpointError::MalformedKey { .. })), "{bad}");
    }
}

#[test]
fn bodies_parse_and_serialise() {
    let cp = Checkpoint { origin: "o".into(), size: 7, root: leaf_hash(b"hello world") };
    assert_eq!(cp.body(), "o\n7\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n");
    assert_eq!(Checkpoint::parse_body(cp.body().as_bytes()).unwrap(), cp);
    let with_extension = format!("{}ext line\n", cp.body());
    assert_eq!(Checkpoint::parse_body(with_extension.as_bytes()).unwrap(), cp);
    for bad in ["o\n07\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n", "o\n7\nAAAA\n", "\n7\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n", "o\n7\n"] {
        assert!(Checkpoint::parse_body(bad.as_bytes()).is_err(), "{bad:?}");
    }
    let json = serde_json::to_string(&cp).unwrap();
    assert_eq!(json, r#"{"origin":"o","size":7,"root":"TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0="}"#);
    assert_eq!(serde_json::from_str::<Checkpoint>(&json).unwrap(), cp);
    assert!(serde_json::from_str::<Checkpoint>(r#"{"origin":"o","size":7,"root":"AAAA"}"#).is_err());
}
