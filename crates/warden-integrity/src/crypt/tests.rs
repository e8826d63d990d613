//! Stream-level tests: warden's parallel payload against the `age` crate's own sequential
//! reader and writer, both ways, plus header tampering and armor.

use std::io::{Read, Write};
use std::iter;

use age::secrecy::SecretString;

use super::keys::{passphrase_identity, passphrase_recipient};
use super::*;

fn plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn identities(identity: &age::x25519::Identity) -> impl FnMut(HeaderKind) -> Result<Vec<Box<dyn age::Identity + Send + Sync>>, CryptError> + '_ {
    move |_| Ok(vec![Box::new(identity.clone()) as Box<dyn age::Identity + Send + Sync>])
}

fn warden_encrypt(recipient: &dyn age::Recipient, plain: &[u8], armor: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let options = EncryptOptions { armor, payload: PayloadOptions { batch_chunks: 3 } };
    encrypt_stream(&[recipient], plain, &mut out, &options).expect("encrypt");
    out
}

fn warden_decrypt(identity: &age::x25519::Identity, cipher: &[u8]) -> Result<Vec<u8>, CryptError> {
    let mut out = Vec::new();
    decrypt_stream(cipher, &mut out, &mut identities(identity), &DecryptOptions::default())?;
    Ok(out)
}

#[test]
fn age_crate_decrypts_what_warden_encrypts() {
    let identity = age::x25519::Identity::generate();
    for len in [0, 1, payload::CHUNK_SIZE, payload::CHUNK_SIZE * 7 + 5] {
        let plain = plaintext(len);
        let cipher = warden_encrypt(&identity.to_public(), &plain, false);
        let decryptor = age::Decryptor::new(&cipher[..]).unwrap();
        let mut reader = decryptor.decrypt(iter::once(&identity as &dyn age::Identity)).unwrap();
        let mut back = Vec::new();
        reader.read_to_end(&mut back).unwrap();
        assert_eq!(back, plain, "length {len}");
    }
}

#[test]
fn warden_decrypts_what_the_age_crate_encrypts() {
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public();
    for len in [0, 17, payload::CHUNK_SIZE * 2, payload::CHUNK_SIZE * 5 + 1] {
        let plain = plaintext(len);
        let encryptor = age::Encryptor::with_recipients(iter::once(&recipient as &dyn age::Recipient)).unwrap();
        let mut cipher = Vec::new();
        let mut writer = encryptor.wrap_output(&mut cipher).unwrap();
        writer.write_all(&plain).unwrap();
        writer.finish().unwrap();
        assert_eq!(warden_decrypt(&identity, &cipher).unwrap(), plain, "length {len}");
    }
}

#[test]
fn armored_files_round_trip_and_open_with_the_age_crate() {
    let identity = age::x25519::Identity::generate();
    let plain = plaintext(payload::CHUNK_SIZE + 99);
    let cipher = warden_encrypt(&identity.to_public(), &plain, true);
    assert!(cipher.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----\n"));
    assert_eq!(warden_decrypt(&identity, &cipher).unwrap(), plain);
    let armored = age::armor::ArmoredReader::new(&cipher[..]);
    let mut reader = age::Decryptor::new(armored).unwrap().decrypt(iter::once(&identity as &dyn age::Identity)).unwrap();
    let mut back = Vec::new();
    reader.read_to_end(&mut back).unwrap();
    assert_eq!(back, plain);
}

#[test]
fn passphrase_round_trip_and_wrong_passphrase() {
    let recipient = passphrase_recipient(SecretString::from("correct horse".to_owned()), 10).unwrap();
    let plain = plaintext(1000);
    let cipher = warden_encrypt(&recipient, &plain, false);
    let open = |pass: &str, max: u8| {
        let mut out = Vec::new();
        let pass = pass.to_owned();
        let mut ids = move |kind| {
            assert!(matches!(kind, HeaderKind::Passphrase));
            Ok(vec![Box::new(passphrase_identity(SecretString::from(pass.clone()), max)) as Box<dyn age::Identity + Send + Sync>])
        };
        decrypt_stream(&cipher[..], &mut out, &mut ids, &DecryptOptions::default()).map(|_| out)
    };
    assert_eq!(open("correct horse", 22).unwrap(), plain);
    assert!(matches!(open("wrong", 22), Err(CryptError::WrongPassphrase)));
    assert!(matches!(open("correct horse", 9), Err(CryptError::ExcessiveWork { required: 10, .. })));
}

#[test]
fn header_tampering_and_wrong_keys_are_named() {
    let identity = age::x25519::Identity::generate();
    let cipher = warden_encrypt(&identity.to_public(), &plaintext(300), false);
    let other = age::x25519::Identity::generate();
    assert!(matches!(warden_decrypt(&other, &cipher), Err(CryptError::NoMatchingIdentity)));

    let mac_at = cipher.windows(4).position(|w| w == b"--- ").unwrap() + 4;
    let mut bad_mac = cipher.clone();
    bad_mac[mac_at] = if bad_mac[mac_at] == b'A' { b'B' } else { b'A' };
    assert!(matches!(warden_decrypt(&identity, &bad_mac), Err(CryptError::HeaderMac | CryptError::InvalidHeader)));

    let mut bad_version = cipher.clone();
    bad_version[5] ^= 1;
    assert!(warden_decrypt(&identity, &bad_version).is_err());
    assert!(matches!(warden_decrypt(&identity, &cipher[..mac_at + 10]), Err(CryptError::TruncatedHeader)));
    assert!(matches!(warden_decrypt(&identity, b"hello, not an age file\n"), Err(CryptError::UnknownVersion | CryptError::InvalidHeader)));
}

#[test]
fn oversized_headers_are_refused_without_reading_them_whole() {
    let mut hostile = b"age-encryption.org/v1\n".to_vec();
    for _ in 0..40_000 {
        hostile.extend_from_slice(b"-> X25519 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n");
    }
    let identity = age::x25519::Identity::generate();
    let mut out = Vec::new();
    let options = DecryptOptions { limits: HeaderLimits { max_header_bytes: 64 * 1024, ..HeaderLimits::default() }, ..DecryptOptions::default() };
    let err = decrypt_stream(&hostile[..], &mut out, &mut identities(&identity), &options).unwrap_err();
    assert!(matches!(err, CryptError::HeaderTooLarge(65536)), "{err}");
}
