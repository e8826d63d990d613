//! End-to-end tests of `warden encrypt`, `warden decrypt` and `warden keygen`: interoperability
//! with the `age` CLI both ways (recipients, passphrases, armor, directories, keys from either
//! side), every tamper case (exit 2, a clear message, no output and no temporary file left), and
//! key files (format, permissions, no clobbering, accepted by Python `cryptography`).
//!
//! Interop tests need `age`, `age-keygen` and `script` (to give `age` the terminal it reads
//! passphrases from); they skip when a tool is missing unless `WARDEN_REQUIRE_INTEROP` is set.

// Skipped interop tests say why on stderr.
#![allow(clippy::print_stderr)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Output};

use assert_cmd::Command;

const CHUNK: usize = 64 * 1024;
const SEALED_CHUNK: usize = CHUNK + 16;

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        Fixture { dir: tempfile::tempdir().expect("temp dir") }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn warden(&self, args: &[&str]) -> Output {
        self.warden_env(args, &[])
    }

    fn warden_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::cargo_bin("warden").expect("binary");
        cmd.current_dir(self.dir.path()).args(args).env_remove("WARDEN_PASSPHRASE");
        for (key, value) in env {
            cmd.env(key, value);
        }
        cmd.output().expect("run warden")
    }

    fn tool(&self, program: &str, args: &[&str]) -> Output {
        StdCommand::new(program).current_dir(self.dir.path()).args(args).output().unwrap_or_else(|e| panic!("running {program}: {e}"))
    }

    /// Runs `age` under a pseudo-terminal (`script`) typing `input`, for its passphrase prompts.
    fn age_with_tty(&self, args: &str, input: &str) -> Output {
        let mut child = StdCommand::new("script")
            .current_dir(self.dir.path())
            .args(["-qec", &format!("age {args}"), "/dev/null"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run script");
        use std::io::Write;
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }

    /// Names in the fixture directory, to prove no temporary or partial file was left.
    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }
}

fn ok(out: &Output) {
    assert!(out.status.success(), "exit {:?}\nstdout: {}\nstderr: {}", out.status.code(), String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// True when every tool is on PATH. Missing tools skip the test, or fail it under
/// `WARDEN_REQUIRE_INTEROP` (as `scripts/test` sets).
fn interop(tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools.iter().copied().filter(|tool| StdCommand::new("sh").args(["-c", &format!("command -v {tool}")]).output().map_or(true, |o| !o.status.success())).collect();
    if missing.is_empty() {
        return true;
    }
    assert!(std::env::var_os("WARDEN_REQUIRE_INTEROP").is_none(), "WARDEN_REQUIRE_INTEROP is set but {missing:?} is not on PATH (Debian: apt-get install age)");
    eprintln!("skipping: {missing:?} not on PATH");
    false
}

/// Deterministic bytes that do not compress or repeat per chunk.
fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// A model directory: small files, an empty one, one of exactly one chunk, and a multi-chunk shard.
fn model_dir(fx: &Fixture, name: &str) -> PathBuf {
    fx.write(&format!("{name}/config.json"), br#"{"model_type": "llama", "hidden_size": 64}"#);
    fx.write(&format!("{name}/tokenizer/vocab.txt"), b"hello\nworld\n");
    fx.write(&format!("{name}/empty.bin"), b"");
    fx.write(&format!("{name}/one_chunk.bin"), &data(CHUNK, 1));
    fx.write(&format!("{name}/model-00001-of-00001.safetensors"), &data(CHUNK * 5 + 1234, 2));
    fx.path(name)
}

/// `warden keygen age`, returning the recipient printed on stderr.
fn warden_key(fx: &Fixture, file: &str) -> String {
    let out = fx.warden(&["keygen", "age", "-o", file]);
    ok(&out);
    let line = stderr(&out).lines().find_map(|l| l.strip_prefix("Public key: ").map(str::to_owned)).expect("public key line");
    assert!(line.starts_with("age1"), "{line}");
    line
}

fn assert_same_tree(a: &Path, b: &Path) {
    let list = |root: &Path| {
        let mut files: Vec<(String, Vec<u8>)> = walk(root).into_iter().map(|p| (p.strip_prefix(root).unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap())).collect();
        files.sort();
        files
    };
    assert_eq!(list(a), list(b));
}

fn walk(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() { files.extend(walk(&path)) } else { files.push(path) }
    }
    files
}

#[test]
fn warden_encrypted_files_decrypt_with_the_age_cli() {
    if !interop(&["age", "age-keygen"]) {
        return;
    }
    let fx = Fixture::new();
    let plain = data(CHUNK * 3 + 77, 3);
    fx.write("weights.bin", &plain);
    // A key from age-keygen, used by warden.
    ok(&fx.tool("age-keygen", &["-o", "age-key.txt"]));
    let recipient = String::from_utf8(fx.tool("age-keygen", &["-y", "age-key.txt"]).stdout).unwrap();
    ok(&fx.warden(&["encrypt", "-r", recipient.trim(), "weights.bin"]));
    ok(&fx.tool("age", &["-d", "-i", "age-key.txt", "-o", "back.bin", "weights.bin.age"]));
    assert_eq!(std::fs::read(fx.path("back.bin")).unwrap(), plain);

    // Armored, to a recipients file with two keys, the second being warden's own.
    let warden_recipient = warden_key(&fx, "warden-key.txt");
    fx.write("recipients.txt", format!("# team\n{}\n\n{warden_recipient}\n", recipient.trim()).as_bytes());
    ok(&fx.warden(&["encrypt", "-a", "-R", "recipients.txt", "-o", "armored.age", "weights.bin"]));
    assert!(std::fs::read(fx.path("armored.age")).unwrap().starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----"));
    ok(&fx.tool("age", &["-d", "-i", "warden-key.txt", "-o", "back2.bin", "armored.age"]));
    assert_eq!(std::fs::read(fx.path("back2.bin")).unwrap(), plain);
}

#[test]
fn age_cli_encrypted_files_decrypt_with_warden() {
    if !interop(&["age", "age-keygen"]) {
        return;
    }
    let fx = Fixture::new();
    let recipient = warden_key(&fx, "key.txt");
    // age-keygen's own format is also what warden reads back.
    assert_eq!(String::from_utf8(fx.tool("age-keygen", &["-y", "key.txt"]).stdout).unwrap().trim(), recipient);
    for (len, armor) in [(0, false), (CHUNK, false), (CHUNK * 2 + 5, true)] {
        let plain = data(len, len as u64);
        fx.write("in.bin", &plain);
        let mut args = vec!["-r", recipient.as_str(), "-o", "in.age"];
        if armor {
            args.push("-a");
        }
        args.push("in.bin");
        ok(&fx.tool("age", &args));
        ok(&fx.warden(&["decrypt", "-i", "key.txt", "-o", "out.bin", "--force", "in.age"]));
        assert_eq!(std::fs::read(fx.path("out.bin")).unwrap(), plain, "length {len}, armor {armor}");
    }
}

#[test]
fn passphrases_interoperate_with_the_age_cli_both_ways() {
    if !interop(&["age", "script"]) {
        return;
    }
    let fx = Fixture::new();
    let plain = data(CHUNK + 10, 4);
    fx.write("secret.bin", &plain);
    fx.write("pass.txt", b"correct horse battery staple\n");
    ok(&fx.warden(&["encrypt", "--passphrase-file", "pass.txt", "--work-factor", "12", "secret.bin"]));
    ok(&fx.age_with_tty("-d -o from-warden.bin secret.bin.age", "correct horse battery staple\n"));
    assert_eq!(std::fs::read(fx.path("from-warden.bin")).unwrap(), plain);

    ok(&fx.age_with_tty("-p -o from-age.age secret.bin", "correct horse battery staple\ncorrect horse battery staple\n"));
    let out = fx.warden_env(&["decrypt", "-o", "from-age.bin", "from-age.age"], &[("WARDEN_PASSPHRASE", "correct horse battery staple")]);
    ok(&out);
    assert_eq!(std::fs::read(fx.path("from-age.bin")).unwrap(), plain);
}

#[test]
fn directories_round_trip_and_each_file_opens_with_age() {
    let fx = Fixture::new();
    let model = model_dir(&fx, "model");
    let recipient = warden_key(&fx, "key.txt");
    let out = fx.warden(&["encrypt", "-r", &recipient, "model"]);
    ok(&out);
    assert!(stderr(&out).contains("encrypted 5 file(s)"), "{}", stderr(&out));
    for name in ["config.json.age", "tokenizer/vocab.txt.age", "empty.bin.age", "one_chunk.bin.age", "model-00001-of-00001.safetensors.age"] {
        assert!(fx.path("model.age").join(name).is_file(), "missing {name}");
    }
    if interop(&["age"]) {
        ok(&fx.tool("age", &["-d", "-i", "key.txt", "-o", "shard.bin", "model.age/model-00001-of-00001.safetensors.age"]));
        assert_eq!(std::fs::read(fx.path("shard.bin")).unwrap(), std::fs::read(model.join("model-00001-of-00001.safetensors")).unwrap());
    }
    ok(&fx.warden(&["decrypt", "-i", "key.txt", "-o", "restored", "model.age"]));
    assert_same_tree(&model, &fx.path("restored"));
    // Replacing an existing tree needs --force, and then replaces it whole.
    assert_eq!(fx.warden(&["decrypt", "-i", "key.txt", "-o", "restored", "model.age"]).status.code(), Some(2));
    ok(&fx.warden(&["decrypt", "-i", "key.txt", "-o", "restored", "--force", "model.age"]));
    assert_same_tree(&model, &fx.path("restored"));
    assert!(!fx.names().iter().any(|n| n.starts_with(".warden")), "{:?}", fx.names());
}

#[test]
fn a_tampered_file_in_a_directory_leaves_no_tree_behind() {
    let fx = Fixture::new();
    model_dir(&fx, "model");
    let recipient = warden_key(&fx, "key.txt");
    ok(&fx.warden(&["encrypt", "-r", &recipient, "model"]));
    let victim = fx.path("model.age/tokenizer/vocab.txt.age");
    let mut bytes = std::fs::read(&victim).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    std::fs::write(&victim, bytes).unwrap();
    let out = fx.warden(&["decrypt", "-i", "key.txt", "-o", "restored", "model.age"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("vocab.txt.age") && stderr(&out).contains("failed authentication"), "{}", stderr(&out));
    // Files before the tampered one decrypted fine, yet none of them is left: the tree is all or nothing.
    assert_eq!(fx.names(), ["key.txt", "model", "model.age"]);
}

/// Offset of the first payload byte: after the header's `--- MAC` line and the 16-byte nonce.
fn payload_start(cipher: &[u8]) -> usize {
    let mac = cipher.windows(5).position(|w| w == b"\n--- ").expect("header end") + 5;
    mac + cipher[mac..].iter().position(|&b| b == b'\n').unwrap() + 1 + 16
}

#[test]
fn every_tamper_case_exits_2_with_a_clear_message_and_no_output() {
    let fx = Fixture::new();
    let plain = data(CHUNK * 3 + 1000, 5);
    fx.write("model.bin", &plain);
    let recipient = warden_key(&fx, "key.txt");
    warden_key(&fx, "other-key.txt");
    ok(&fx.warden(&["encrypt", "-r", &recipient, "model.bin"]));
    let cipher = std::fs::read(fx.path("model.bin.age")).unwrap();
    let start = payload_start(&cipher);
    assert_eq!(cipher.len(), start + plain.len() + 4 * 16);
    let stanza_body = cipher.windows(10).position(|w| w == b"-> X25519 ").unwrap() + 60;
    let flip = |at: usize| {
        let mut c = cipher.clone();
        c[at] ^= 0x01;
        c
    };
    // Header text is base64: swap a character for another valid one, so the case is the same
    // on every run (a flipped bit can also make the character invalid).
    let swap = |from: usize| {
        let mut c = cipher.clone();
        let at = from + c[from..from + 8].iter().position(u8::is_ascii_alphanumeric).expect("a letter or digit among 8 base64 characters");
        c[at] = if c[at] == b'A' { b'B' } else { b'A' };
        c
    };
    let mut appended = cipher.clone();
    appended.extend_from_slice(b"extra");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("changed character in the recipient stanza", swap(stanza_body)),
        ("changed character in the header MAC", swap(start - 30)),
        ("changed version line", flip(5)),
        ("flipped byte in the nonce", flip(start - 1)),
        ("flipped byte in the first chunk", flip(start + 10)),
        ("flipped byte in the last chunk", flip(cipher.len() - 20)),
        ("truncated at a chunk boundary", cipher[..start + 2 * SEALED_CHUNK].to_vec()),
        ("truncated mid-chunk", cipher[..start + SEALED_CHUNK + 500].to_vec()),
        ("truncated inside the header", cipher[..start - 30].to_vec()),
        ("appended bytes", appended),
    ];
    let mut messages = Vec::new();
    for (case, bytes) in &cases {
        fx.write("tampered.age", bytes);
        let out = fx.warden(&["decrypt", "-i", "key.txt", "-o", "out.bin", "tampered.age"]);
        assert_eq!(out.status.code(), Some(2), "{case}: {}", stderr(&out));
        let message = stderr(&out);
        assert!(message.starts_with("warden: error: ") && !message.contains("panicked"), "{case}: {message}");
        assert!(!fx.path("out.bin").exists(), "{case}: plaintext left behind");
        assert_eq!(fx.names(), ["key.txt", "model.bin", "model.bin.age", "other-key.txt", "tampered.age"], "{case}");
        assert_eq!(std::fs::read(fx.path("tampered.age")).unwrap(), *bytes, "{case}: input modified");
        messages.push(format!("{case}:\n  {}", message.trim()));
    }
    let wrong_key = fx.warden(&["decrypt", "-i", "other-key.txt", "-o", "out.bin", "model.bin.age"]);
    assert_eq!(wrong_key.status.code(), Some(2));
    messages.push(format!("wrong identity:\n  {}", stderr(&wrong_key).trim()));
    assert!(!fx.path("out.bin").exists());

    fx.write("pass.txt", b"right passphrase\n");
    fx.write("wrong.txt", b"wrong passphrase\n");
    ok(&fx.warden(&["encrypt", "--passphrase-file", "pass.txt", "--work-factor", "10", "-o", "p.age", "model.bin"]));
    let wrong_pass = fx.warden(&["decrypt", "--passphrase-file", "wrong.txt", "-o", "out.bin", "p.age"]);
    assert_eq!(wrong_pass.status.code(), Some(2));
    messages.push(format!("wrong passphrase:\n  {}", stderr(&wrong_pass).trim()));
    let excessive = fx.warden(&["decrypt", "--passphrase-file", "pass.txt", "--max-work-factor", "9", "-o", "out.bin", "p.age"]);
    assert_eq!(excessive.status.code(), Some(2));
    messages.push(format!("work factor above the limit:\n  {}", stderr(&excessive).trim()));
    let no_key = fx.warden(&["decrypt", "-o", "out.bin", "model.bin.age"]);
    assert_eq!(no_key.status.code(), Some(2));
    messages.push(format!("no identity given:\n  {}", stderr(&no_key).trim()));
    assert!(!fx.path("out.bin").exists());
    insta::assert_snapshot!("tamper_messages", messages.join("\n"));

    // And the untouched file still decrypts.
    ok(&fx.warden(&["decrypt", "-i", "key.txt", "-o", "out.bin", "model.bin.age"]));
    assert_eq!(std::fs::read(fx.path("out.bin")).unwrap(), plain);
}

#[test]
fn outputs_never_overwrite_inputs_or_existing_files_without_force() {
    let fx = Fixture::new();
    fx.write("a.bin", b"model bytes");
    let recipient = warden_key(&fx, "key.txt");
    let same = fx.warden(&["encrypt", "-r", &recipient, "-o", "a.bin", "--force", "a.bin"]);
    assert_eq!(same.status.code(), Some(2));
    assert!(stderr(&same).contains("would overwrite"), "{}", stderr(&same));
    assert_eq!(std::fs::read(fx.path("a.bin")).unwrap(), b"model bytes");

    fx.write("a.bin.age", b"precious");
    let exists = fx.warden(&["encrypt", "-r", &recipient, "a.bin"]);
    assert_eq!(exists.status.code(), Some(2));
    assert!(stderr(&exists).contains("already exists; pass --force"), "{}", stderr(&exists));
    assert_eq!(std::fs::read(fx.path("a.bin.age")).unwrap(), b"precious");
    ok(&fx.warden(&["encrypt", "-r", &recipient, "--force", "a.bin"]));
    let decrypt_same = fx.warden(&["decrypt", "-i", "key.txt", "-o", "a.bin.age", "--force", "a.bin.age"]);
    assert_eq!(decrypt_same.status.code(), Some(2));
    ok(&fx.warden(&["decrypt", "-i", "key.txt", "-o", "plain.bin", "a.bin.age"]));
    assert_eq!(std::fs::read(fx.path("plain.bin")).unwrap(), b"model bytes");
    assert_eq!(std::fs::metadata(fx.path("plain.bin")).unwrap().permissions().mode() & 0o777, 0o600);

    let nobody = fx.warden(&["encrypt", "a.bin", "-o", "x.age"]);
    assert_eq!(nobody.status.code(), Some(2));
    assert!(stderr(&nobody).contains("give a recipient"), "{}", stderr(&nobody));
    let secret_as_recipient = fx.warden(&["encrypt", "-r", "AGE-SECRET-KEY-1QQQ", "a.bin", "-o", "x.age"]);
    assert_eq!(secret_as_recipient.status.code(), Some(2));
    assert!(!stderr(&secret_as_recipient).contains("1QQQ"), "a secret key is never echoed");
    let no_tty = fx.warden(&["encrypt", "-p", "a.bin", "-o", "x.age"]);
    assert_eq!(no_tty.status.code(), Some(2), "no terminal and no passphrase source");
    assert!(!fx.path("x.age").exists());
}

#[test]
fn keygen_writes_private_keys_0600_and_never_clobbers() {
    let fx = Fixture::new();
    let recipient = warden_key(&fx, "key.txt");
    let text = std::fs::read_to_string(fx.path("key.txt")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("# created: 20") && lines[0].ends_with('Z'), "{text}");
    assert_eq!(lines[1], format!("# public key: {recipient}"));
    assert!(lines[2].starts_with("AGE-SECRET-KEY-1") && lines.len() == 3);
    assert_eq!(std::fs::metadata(fx.path("key.txt")).unwrap().permissions().mode() & 0o777, 0o600);
    let again = fx.warden(&["keygen", "age", "-o", "key.txt"]);
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(fx.path("key.txt")).unwrap(), text);
    ok(&fx.warden(&["keygen", "age", "-o", "key.txt", "--force"]));
    assert_ne!(std::fs::read_to_string(fx.path("key.txt")).unwrap(), text);
    let stdout = fx.warden(&["keygen", "age"]);
    ok(&stdout);
    assert!(String::from_utf8_lossy(&stdout.stdout).contains("AGE-SECRET-KEY-1"));

    for curve in ["p256", "p384"] {
        let key = format!("{curve}.pem");
        ok(&fx.warden(&["keygen", "signing", "--curve", curve, "-o", &key]));
        let private = std::fs::read_to_string(fx.path(&key)).unwrap();
        let public = std::fs::read_to_string(fx.path(&format!("{curve}.pub"))).unwrap();
        assert!(private.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{private}");
        assert!(public.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{public}");
        assert_eq!(std::fs::metadata(fx.path(&key)).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(fx.path(&format!("{curve}.pub"))).unwrap().permissions().mode() & 0o777, 0o644);
        let clobber = fx.warden(&["keygen", "signing", "--curve", curve, "-o", &key]);
        assert_eq!(clobber.status.code(), Some(2));
        assert_eq!(std::fs::read_to_string(fx.path(&key)).unwrap(), private);
    }
    assert!(!fx.names().iter().any(|n| n.starts_with(".warden")), "{:?}", fx.names());
}

/// The signing keys load in Python `cryptography` (what `model_signing` uses for the key method),
/// sign there, and verify with the `.pub` file.
#[test]
fn signing_keys_load_in_python_cryptography() {
    let Some(python) = std::env::var_os("WARDEN_PYTHON") else {
        assert!(std::env::var_os("WARDEN_REQUIRE_INTEROP").is_none(), "WARDEN_REQUIRE_INTEROP is set but WARDEN_PYTHON is not");
        eprintln!("skipping: WARDEN_PYTHON is not set (scripts/python-env builds it)");
        return;
    };
    let fx = Fixture::new();
    let script = r#"
import sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
for name, curve, digest in [("p256", "secp256r1", hashes.SHA256()), ("p384", "secp384r1", hashes.SHA384())]:
    private = serialization.load_pem_private_key(open(name + ".pem", "rb").read(), password=None)
    public = serialization.load_pem_public_key(open(name + ".pub", "rb").read())
    assert private.curve.name == curve, private.curve.name
    signature = private.sign(b"model manifest", ec.ECDSA(digest))
    public.verify(signature, b"model manifest", ec.ECDSA(digest))
print("ok")
"#;
    for curve in ["p256", "p384"] {
        ok(&fx.warden(&["keygen", "signing", "--curve", curve, "-o", &format!("{curve}.pem")]));
    }
    let out = StdCommand::new(python).current_dir(fx.dir.path()).args(["-c", script]).output().expect("run python");
    ok(&out);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
}

/// Peak memory stays flat on a large input: a 1 GiB sparse file encrypts within 64 MiB of RSS.
#[test]
fn encryption_memory_does_not_grow_with_the_file() {
    if !Path::new("/usr/bin/time").exists() {
        assert!(std::env::var_os("WARDEN_REQUIRE_INTEROP").is_none(), "WARDEN_REQUIRE_INTEROP is set but /usr/bin/time is missing (Debian: apt-get install time)");
        eprintln!("skipping: /usr/bin/time is missing");
        return;
    }
    let fx = Fixture::new();
    let big = std::fs::File::create(fx.path("big.bin")).unwrap();
    big.set_len(1 << 30).unwrap();
    let recipient = warden_key(&fx, "key.txt");
    let out = StdCommand::new("/usr/bin/time")
        .current_dir(fx.dir.path())
        .args(["-f", "%M"])
        .arg(assert_cmd::cargo::cargo_bin("warden"))
        .args(["encrypt", "-q", "-r", &recipient, "big.bin"])
        .output()
        .unwrap();
    ok(&out);
    let peak_kib: u64 = stderr(&out).lines().last().unwrap().trim().parse().unwrap();
    assert!(peak_kib < 64 * 1024, "peak RSS {peak_kib} KiB for a 1 GiB file");
    let mut head = vec![0u8; 4096];
    std::io::Read::read_exact(&mut std::fs::File::open(fx.path("big.bin.age")).unwrap(), &mut head).unwrap();
    let chunks = (1u64 << 30) / CHUNK as u64;
    assert_eq!(std::fs::metadata(fx.path("big.bin.age")).unwrap().len(), payload_start(&head) as u64 + (1 << 30) + 16 * chunks);
}
