//! `warden hash`, `sign` and `verify` end to end: OpenSSF Model Signing bundles on generated
//! model directories (a few small files and one multi-shard file), every tamper case, the real
//! model-transparency fixtures, and interoperability with the `model_signing` Python package
//! both ways (run through `$WARDEN_PYTHON`; skipped when it is missing unless
//! `WARDEN_REQUIRE_INTEROP` is set, in which case a missing tool fails the test).

use std::path::PathBuf;
use std::process::Output;

use assert_cmd::Command;
use p256::pkcs8::EncodePrivateKey as _;
use serde_json::Value;
use warden_integrity::bundle::Bundle;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/oms/model-transparency-fixtures");
const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/oms/test-vectors/v1.0");
/// Shard size used with the generated model: the weights file spans three shards.
const SHARD: u64 = 100_000;

/// A temporary working directory holding `model/`, keys and signatures.
struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Self {
        let ws = Workspace { dir: tempfile::tempdir().expect("temp dir") };
        let files: [(&str, Vec<u8>); 5] = [
            ("config.json", br#"{"architectures": ["TinyNet"], "hidden_size": 8}"#.to_vec()),
            ("tokenizer/vocab.txt", b"<pad>\n<unk>\nhello\nworld\n".to_vec()),
            ("weights.bin", (0..250_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()),
            ("README.md", b"# TinyNet\n".to_vec()),
            (".git/HEAD", b"ref: refs/heads/main\n".to_vec()),
        ];
        for (name, bytes) in files {
            ws.write(&format!("model/{name}"), &bytes);
        }
        ws.write("p256.pem", private_pem(Curve::P256, 1).as_bytes());
        ws.write("p256.pub", public_pem(Curve::P256, 1).as_bytes());
        ws.write("p384.pem", private_pem(Curve::P384, 2).as_bytes());
        ws.write("p384.pub", public_pem(Curve::P384, 2).as_bytes());
        ws.write("other.pub", public_pem(Curve::P256, 3).as_bytes());
        ws
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, bytes: &[u8]) {
        let path = self.path(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, bytes).expect("write");
    }

    fn warden(&self, args: &[&str]) -> Output {
        Command::cargo_bin("warden").expect("binary").current_dir(self.dir.path()).args(args).output().expect("run warden")
    }

    /// `warden verify ... --format json`, returning the exit code and the rule ids found.
    fn verify(&self, args: &[&str]) -> (i32, Vec<String>, Value) {
        let mut all = vec!["verify", "--format", "json"];
        all.extend_from_slice(args);
        let out = self.warden(&all);
        let code = out.status.code().expect("exit code");
        if code == 2 {
            return (2, vec![], Value::Null);
        }
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(&out)));
        let rules = report["findings"].as_array().expect("findings").iter().map(|f| f["rule_id"].as_str().expect("rule").to_owned()).collect();
        (code, rules, report)
    }
}

#[derive(Clone, Copy)]
enum Curve {
    P256,
    P384,
}

fn private_pem(curve: Curve, seed: u8) -> String {
    let doc = match curve {
        Curve::P256 => p256::SecretKey::from_slice(&[seed; 32]).expect("key").to_pkcs8_pem(p256::pkcs8::LineEnding::LF),
        Curve::P384 => p384::SecretKey::from_slice(&[seed; 48]).expect("key").to_pkcs8_pem(p256::pkcs8::LineEnding::LF),
    };
    doc.expect("pem").to_string()
}

fn public_pem(curve: Curve, seed: u8) -> String {
    warden_integrity::keys::SigningKey::from_pem(&private_pem(curve, seed)).expect("key").verifying_key().spki_pem()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_code(out: &Output, code: i32) {
    assert_eq!(out.status.code(), Some(code), "stdout: {}\nstderr: {}", stdout(out), stderr(out));
}

/// The Python interpreter with `model_signing` importable, or `None` (test skipped) when
/// interop is not required; panics when `WARDEN_REQUIRE_INTEROP` is set and it is missing.
fn model_signing_python() -> Option<String> {
    let required = std::env::var_os("WARDEN_REQUIRE_INTEROP").is_some_and(|v| !v.is_empty() && v != "0");
    let python = std::env::var("WARDEN_PYTHON").ok().filter(|p| !p.is_empty());
    let usable = python.as_ref().is_some_and(|p| std::process::Command::new(p).args(["-c", "import model_signing, OpenSSL"]).output().is_ok_and(|o| o.status.success()));
    if usable {
        return python;
    }
    let why = format!("model_signing is not importable with WARDEN_PYTHON={python:?} (scripts/python-env builds a venv with it)");
    assert!(!required, "WARDEN_REQUIRE_INTEROP is set but {why}");
    #[allow(clippy::print_stderr)]
    {
        eprintln!("skipping model_signing interop: {why}");
    }
    None
}

/// Runs `python -m model_signing ARGS` (or a `-c` script) in the workspace.
fn python(ws: &Workspace, python: &str, args: &[&str]) -> Output {
    std::process::Command::new(python).current_dir(ws.dir.path()).args(args).output().expect("run python")
}

fn ms_verify_key(ws: &Workspace, py: &str, sig: &str, public: &str) -> Output {
    python(ws, py, &["-m", "model_signing", "verify", "key", "--signature", sig, "--public_key", public, "model"])
}

#[test]
fn warden_signature_verifies_with_warden_and_model_signing_on_both_curves() {
    let ws = Workspace::new();
    for (key, public) in [("p256.pem", "p256.pub"), ("p384.pem", "p384.pub")] {
        assert_code(&ws.warden(&["sign", "model", "--key", key]), 0);
        let bundle: Value = serde_json::from_slice(&std::fs::read(ws.path("model/model.sig")).unwrap()).unwrap();
        assert_eq!(bundle["mediaType"], "application/vnd.dev.sigstore.bundle.v0.3+json");
        assert_eq!(bundle["dsseEnvelope"]["payloadType"], "application/vnd.in-toto+json");
        let (code, rules, report) = ws.verify(&["model", "--public-key", public]);
        assert_eq!((code, rules), (0, vec!["integrity.verified".to_owned()]), "{report:#}");
        // .git and the signature itself are not part of the signed files.
        let files: Vec<&str> = report["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap()).collect();
        assert_eq!(files, ["model/README.md", "model/config.json", "model/tokenizer/vocab.txt", "model/weights.bin"]);
        if let Some(py) = model_signing_python() {
            let out = ms_verify_key(&ws, &py, "model/model.sig", public);
            assert_code(&out, 0);
            assert!(stdout(&out).contains("Verification succeeded"));
        }
    }
}

#[test]
fn model_signing_signature_verifies_with_warden() {
    let Some(py) = model_signing_python() else { return };
    let ws = Workspace::new();
    let out = python(&ws, &py, &["-m", "model_signing", "sign", "key", "--signature", "model/model.sig", "--private_key", "p384.pem", "model"]);
    assert_code(&out, 0);
    let (code, rules, _) = ws.verify(&["model", "--public-key", "p384.pub"]);
    assert_eq!((code, rules), (0, vec!["integrity.verified".to_owned()]));
    // Tampering is caught by warden on model_signing's bundle too.
    ws.write("model/README.md", b"# TinyNet, now with a backdoor\n");
    let (code, rules, _) = ws.verify(&["model", "--public-key", "p384.pub"]);
    assert_eq!((code, rules), (1, vec!["integrity.file-changed".to_owned()]));
}

#[test]
fn hash_manifests_match_model_signing_byte_for_byte() {
    let Some(py) = model_signing_python() else { return };
    let ws = Workspace::new();
    for (serialization, python_config) in [
        ("files", "hashing.Config()".to_owned()),
        ("shards", format!("hashing.Config().use_shard_serialization(shard_size={SHARD})")),
    ] {
        let script = format!(
            "import json\nfrom model_signing import hashing\nm = {python_config}.hash('model')\n\
             print(json.dumps([[r.identifier, r.digest.algorithm, r.digest.digest_hex] for r in m.resource_descriptors()]))"
        );
        let out = python(&ws, &py, &["-c", &script]);
        assert_code(&out, 0);
        let theirs: Value = serde_json::from_slice(&out.stdout).unwrap();
        let out = ws.warden(&["hash", "model", "--format", "json", "--serialization", serialization, "--shard-size", &SHARD.to_string()]);
        assert_code(&out, 0);
        let ours: Value = serde_json::from_slice(&out.stdout).unwrap();
        let ours: Vec<Value> = ours["predicate"]["resources"].as_array().unwrap().iter().map(|r| serde_json::json!([r["name"], r["algorithm"], r["digest"]])).collect();
        assert_eq!(Value::Array(ours), theirs, "{serialization}");
    }
}

#[test]
fn sharded_signatures_interoperate_and_locate_the_tampered_shard() {
    let ws = Workspace::new();
    let shard = SHARD.to_string();
    assert_code(&ws.warden(&["sign", "model", "--key", "p256.pem", "--serialization", "shards", "--shard-size", &shard]), 0);
    let (code, rules, _) = ws.verify(&["model", "--public-key", "p256.pub"]);
    assert_eq!((code, rules), (0, vec!["integrity.verified".to_owned()]));
    if let Some(py) = model_signing_python() {
        // model_signing's CLI always re-hashes per file, and its automatic detection chokes on
        // its own float shard sizes, so its API is given the shard configuration explicitly.
        let script = format!(
            "from model_signing import hashing, verifying\n\
             verifying.Config().use_elliptic_key_verifier(public_key='p256.pub').set_hashing_config(\
             hashing.Config().use_shard_serialization(shard_size={SHARD}).set_ignored_paths(paths=['model.sig'])).verify('model', 'model/model.sig')\n\
             print('ok')"
        );
        assert_code(&python(&ws, &py, &["-c", &script]), 0);
        // And a model_signing shard signature verifies with warden.
        let script = format!(
            "from model_signing import hashing, signing\n\
             signing.Config().use_elliptic_key_signer(private_key='p256.pem').set_hashing_config(\
             hashing.Config().use_shard_serialization(shard_size={SHARD}).set_ignored_paths(paths=['ms.sig'])).sign('model', 'ms.sig')"
        );
        assert_code(&python(&ws, &py, &["-c", &script]), 0);
        let (code, rules, _) = ws.verify(&["model", "--signature", "ms.sig", "--public-key", "p256.pub"]);
        assert_eq!((code, rules), (0, vec!["integrity.verified".to_owned()]));
    }
    let mut weights = std::fs::read(ws.path("model/weights.bin")).unwrap();
    weights[150_000] ^= 1;
    ws.write("model/weights.bin", &weights);
    let (code, rules, report) = ws.verify(&["model", "--public-key", "p256.pub"]);
    assert_eq!((code, rules), (1, vec!["integrity.file-changed".to_owned()]));
    let message = report["findings"][0]["message"].as_str().unwrap();
    assert!(message.contains("100000..200000") && !message.contains("0..100000,"), "{message}");
}

/// Each tamper case, checked with warden and (when available) model_signing.
#[test]
fn every_tamper_case_is_rejected_by_both_tools() {
    let py = model_signing_python();
    type Tamper = fn(&Workspace);
    let cases: [(&str, Tamper, &str, &str); 6] = [
        ("changed file", |ws| ws.write("model/config.json", br#"{"architectures": ["EvilNet"]}"#), "p256.pub", "integrity.file-changed"),
        ("added file", |ws| ws.write("model/tokenizer/extra.pkl", b"cos\nsystem\n(S'id'\ntR."), "p256.pub", "integrity.file-added"),
        ("removed file", |ws| std::fs::remove_file(ws.path("model/README.md")).unwrap(), "p256.pub", "integrity.file-removed"),
        ("tampered payload", |ws| rewrite_payload(ws, |p| p.replace("config.json", "config.jsoN")), "p256.pub", "integrity.signature-invalid"),
        ("tampered signature", |ws| rewrite_bundle(ws, |b| b.signature[10] ^= 1), "p256.pub", "integrity.signature-invalid"),
        ("wrong key", |_| {}, "other.pub", "integrity.key-mismatch"),
    ];
    for (what, tamper, public, rule) in cases {
        let ws = Workspace::new();
        assert_code(&ws.warden(&["sign", "model", "--key", "p256.pem"]), 0);
        tamper(&ws);
        let (code, rules, report) = ws.verify(&["model", "--public-key", public]);
        assert_eq!((code, rules), (1, vec![rule.to_owned()]), "{what}: {report:#}");
        if let Some(py) = &py {
            let out = ms_verify_key(&ws, py, "model/model.sig", public);
            assert_code(&out, 1);
            assert!(stderr(&out).contains("Verification failed"), "{what}: {}", stderr(&out));
        }
    }
}

fn rewrite_bundle(ws: &Workspace, edit: impl FnOnce(&mut Bundle)) {
    let path = ws.path("model/model.sig");
    let mut bundle = Bundle::from_json(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut bundle);
    std::fs::write(path, bundle.to_json()).unwrap();
}

fn rewrite_payload(ws: &Workspace, edit: impl FnOnce(String) -> String) {
    rewrite_bundle(ws, |b| b.payload = edit(String::from_utf8(b.payload.clone()).unwrap()).into_bytes());
}

#[test]
fn wrong_key_without_hint_fails_the_signature() {
    let ws = Workspace::new();
    assert_code(&ws.warden(&["sign", "model", "--key", "p256.pem"]), 0);
    rewrite_bundle(&ws, |b| b.material = warden_integrity::bundle::VerificationMaterial::PublicKey { hint: None });
    let (code, rules, _) = ws.verify(&["model", "--public-key", "other.pub"]);
    assert_eq!((code, rules), (1, vec!["integrity.signature-invalid".to_owned()]));
}

#[test]
fn blake3_and_single_file_models_round_trip() {
    let ws = Workspace::new();
    assert_code(&ws.warden(&["sign", "model", "--key", "p384.pem", "--hash", "blake3", "--signature", "b3.sig"]), 0);
    let (code, rules, _) = ws.verify(&["model", "--signature", "b3.sig", "--public-key", "p384.pub"]);
    assert_eq!((code, rules), (0, vec!["integrity.verified".to_owned()]));
    assert_code(&ws.warden(&["sign", "model/weights.bin", "--key", "p256.pem", "--signature", "w.sig"]), 0);
    let (code, rules, _) = ws.verify(&["model/weights.bin", "--signature", "w.sig", "--public-key", "p256.pub"]);
    assert_eq!((code, rules), (0, vec!["integrity.verified".to_owned()]));
    if let Some(py) = model_signing_python() {
        // model_signing's CLI always re-hashes with SHA-256; its API follows the manifest.
        let script = "from model_signing import verifying\nverifying.Config().use_elliptic_key_verifier(public_key='p384.pub').verify('model', 'b3.sig')";
        assert_code(&python(&ws, &py, &["-c", script]), 0);
    }
}

#[cfg(unix)]
#[test]
fn symlinks_in_a_model_are_refused() {
    let ws = Workspace::new();
    std::os::unix::fs::symlink("/etc/passwd", ws.path("model/passwd")).unwrap();
    let out = ws.warden(&["sign", "model", "--key", "p256.pem"]);
    assert_code(&out, 2);
    assert!(stderr(&out).contains("symbolic link"), "{}", stderr(&out));
    assert!(!ws.path("model/model.sig").exists());
    let out = ws.warden(&["hash", "model"]);
    assert_code(&out, 2);
}

#[test]
fn model_transparency_fixtures_verify() {
    let key = Command::cargo_bin("warden")
        .unwrap()
        .current_dir(FIXTURES)
        .args(["verify", "v1.1.0-elliptic-key", "--public-key", "keys/signing-key-pub.pem", "--format", "json"])
        .output()
        .unwrap();
    assert_code(&key, 0);
    let cert = Command::cargo_bin("warden")
        .unwrap()
        .current_dir(FIXTURES)
        .args(["verify", "v1.1.0-certificate", "--certificate-chain", "keys/ca-cert.pem"])
        .output()
        .unwrap();
    assert_code(&cert, 0);
    // Trusting only the (not self-signed) intermediate is not enough, as with OpenSSL.
    let cert = Command::cargo_bin("warden")
        .unwrap()
        .current_dir(FIXTURES)
        .args(["verify", "v1.1.0-certificate", "--certificate-chain", "keys/int-ca-cert.pem", "--format", "json"])
        .output()
        .unwrap();
    assert_code(&cert, 1);
    assert!(stdout(&cert).contains("integrity.certificate-invalid"));
}

#[test]
fn oms_test_vectors_are_accepted_or_rejected() {
    let run = |bundle: &str, trust: &[&str]| {
        // The directory also holds its own model.sig, which these vectors do not list.
        let mut args = vec!["verify".to_owned(), format!("{FIXTURES}/v1.1.0-elliptic-key"), "--signature".into(), format!("{VECTORS}/{bundle}"), "--ignore".into(), "model.sig".into(), "--format".into(), "json".into()];
        args.extend(trust.iter().map(|s| format!("{FIXTURES}/keys/{s}")).flat_map(|p| [if p.ends_with("pub.pem") { "--public-key".to_owned() } else { "--certificate-chain".to_owned() }, p]));
        Command::cargo_bin("warden").unwrap().args(&args).output().unwrap()
    };
    assert_code(&run("valid/key.bundle.json", &["signing-key-pub.pem"]), 0);
    assert_code(&run("valid/certificate.bundle.json", &["ca-cert.pem"]), 0);
    let keyless = run("valid/sigstore.bundle.json", &["ca-cert.pem"]);
    assert_code(&keyless, 2);
    assert!(stderr(&keyless).contains("keyless"), "{}", stderr(&keyless));
    for (bundle, rule) in [
        ("invalid/empty.bundle.json", "integrity.bundle-malformed"),
        ("invalid/missing-envelope.bundle.json", "integrity.bundle-malformed"),
        ("invalid/missing-verification-material.bundle.json", "integrity.bundle-malformed"),
        ("invalid-payload/wrong-predicate.bundle.json", "integrity.signature-invalid"),
    ] {
        let out = run(bundle, &["signing-key-pub.pem"]);
        assert_code(&out, 1);
        assert!(stdout(&out).contains(rule), "{bundle}: {}", stdout(&out));
    }
    // A sigstore bundle without log entries is still keyless: refused, not accepted.
    assert_ne!(run("invalid/missing-tlog-entries.bundle.json", &["ca-cert.pem"]).status.code(), Some(0));
}

#[test]
fn certificate_method_interoperates_with_model_signing() {
    let Some(py) = model_signing_python() else { return };
    let ws = Workspace::new();
    // A root CA (P-384) and a code-signing leaf for the P-256 test key, made with `cryptography`.
    let script = r#"
import datetime
from cryptography import x509
from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
def name(cn): return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
start = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
end = datetime.datetime(2045, 1, 1, tzinfo=datetime.timezone.utc)
for label in ["root", "other-root"]:
    key = ec.generate_private_key(ec.SECP384R1())
    cert = (x509.CertificateBuilder().subject_name(name(label)).issuer_name(name(label))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(key, hashes.SHA384()))
    open(label + ".pem", "wb").write(cert.public_bytes(serialization.Encoding.PEM))
    if label == "root": root_key, root_cert = key, cert
leaf_key = serialization.load_pem_private_key(open("p256.pem", "rb").read(), None)
leaf = (x509.CertificateBuilder().subject_name(name("model-signer")).issuer_name(root_cert.subject)
    .public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
    .not_valid_before(start).not_valid_after(end)
    .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
    .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
    .sign(root_key, hashes.SHA384()))
open("leaf.pem", "wb").write(leaf.public_bytes(serialization.Encoding.PEM))
"#;
    assert_code(&python(&ws, &py, &["-c", script]), 0);
    assert_code(&ws.warden(&["sign", "model", "--key", "p256.pem", "--certificate", "leaf.pem", "--certificate-chain", "root.pem"]), 0);
    let (code, rules, _) = ws.verify(&["model", "--certificate-chain", "root.pem"]);
    assert_eq!((code, rules), (0, vec!["integrity.verified".to_owned()]));
    let (code, rules, _) = ws.verify(&["model", "--certificate-chain", "other-root.pem"]);
    assert_eq!((code, rules), (1, vec!["integrity.certificate-invalid".to_owned()]));
    let ms = |root: &str| python(&ws, &py, &["-m", "model_signing", "verify", "certificate", "--signature", "model/model.sig", "--certificate_chain", root, "model"]);
    assert_code(&ms("root.pem"), 0);
    assert_code(&ms("other-root.pem"), 1);
    // model_signing's certificate bundle verifies with warden.
    let out = python(&ws, &py, &["-m", "model_signing", "sign", "certificate", "--signature", "ms.sig", "--private_key", "p256.pem", "--signing_certificate", "leaf.pem", "--certificate_chain", "root.pem", "model"]);
    assert_code(&out, 0);
    let (code, rules, _) = ws.verify(&["model", "--signature", "ms.sig", "--certificate-chain", "root.pem"]);
    assert_eq!((code, rules), (0, vec!["integrity.verified".to_owned()]));
}

#[test]
fn verify_report_snapshot() {
    let ws = Workspace::new();
    assert_code(&ws.warden(&["sign", "model", "--key", "p256.pem", "--serialization", "shards", "--shard-size", &SHARD.to_string()]), 0);
    ws.write("model/config.json", br#"{"architectures": ["EvilNet"]}"#);
    ws.write("model/extra.py", b"import os\n");
    std::fs::remove_file(ws.path("model/README.md")).unwrap();
    let out = ws.warden(&["verify", "model", "--public-key", "p256.pub"]);
    assert_code(&out, 1);
    insta::assert_snapshot!("integrity_verify_table", stdout(&out));
    let sarif = ws.warden(&["verify", "model", "--public-key", "p256.pub", "--format", "sarif"]);
    assert_code(&sarif, 1);
    let sarif: Value = serde_json::from_slice(&sarif.stdout).unwrap();
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 3);
}

#[test]
fn hash_prints_one_line_per_entry_and_the_root() {
    let ws = Workspace::new();
    // The signature written into the model is left out, as `warden sign` leaves it out.
    assert_code(&ws.warden(&["sign", "model", "--key", "p256.pem"]), 0);
    let out = ws.warden(&["hash", "model", "--serialization", "shards", "--shard-size", &SHARD.to_string()]);
    assert_code(&out, 0);
    let text = stdout(&out);
    let names: Vec<&str> = text.lines().map(|l| l.split_once("  ").unwrap().1).collect();
    assert_eq!(names[..6], ["README.md:0:10", "config.json:0:48", "tokenizer/vocab.txt:0:24", "weights.bin:0:100000", "weights.bin:100000:200000", "weights.bin:200000:250000"]);
    assert!(names[6].starts_with("(root: sha256 over the 6 entries"));
    let b3 = ws.warden(&["hash", "model/weights.bin", "--hash", "blake3"]);
    assert_code(&b3, 0);
    assert!(stdout(&b3).lines().next().unwrap().ends_with("  ."));
}

#[test]
fn keys_from_warden_keygen_sign_and_verify() {
    let ws = Workspace::new();
    for curve in ["p256", "p384"] {
        let private = format!("kg-{curve}.pem");
        let public = format!("kg-{curve}.pub");
        assert_code(&ws.warden(&["keygen", "signing", "--curve", curve, "--output", &private, "--public", &public]), 0);
        assert_code(&ws.warden(&["sign", "model", "--key", &private]), 0);
        let (code, rules, _) = ws.verify(&["model", "--public-key", &public]);
        assert_eq!((code, rules), (0, vec!["integrity.verified".to_owned()]), "{curve}");
    }
}
