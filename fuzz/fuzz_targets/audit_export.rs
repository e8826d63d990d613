//! Fuzz target: offline audit-export verification, entry decoding, checkpoint notes and proofs
//! must never panic, hang or allocate without bound on hostile bytes.
//!
//! Half of the runs verify the raw input as an export; the other half replay the input as edits
//! (swap, delete, copy, flip a byte) on a genuine log, so the sequence and chain tracker sees
//! nearly-valid exports rather than only garbage.
#![no_main]

use std::sync::OnceLock;

use warden_audit::entry::decode;
use warden_audit::tree::{hash_from_base64, leaf_hash};
use warden_audit::{
    Actor, ApiActivity, AuditEvent, Checkpoint, CheckpointSigner, CheckpointVerifier, ConsistencyProof,
    InclusionProof, Limits, MemoryLog, User, verify_export,
};

const ORIGIN: &str = "fuzz.example/audit";

struct Fixture {
    lines: Vec<Vec<u8>>,
    log: MemoryLog,
    verifier: CheckpointVerifier,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mut log = MemoryLog::new();
        for i in 0..24u64 {
            let actor = Actor::session(User::new(format!("u{}", i % 3), "alice"), None);
            let event = AuditEvent::api(format!("e{i}"), i as i64, actor, ApiActivity::Update, "model.update");
            log.append(&event).expect("fixed events encode");
        }
        let lines = log.entries().map(<[u8]>::to_vec).collect();
        let (_, vkey) = CheckpointSigner::generate(ORIGIN).expect("valid name");
        let verifier = CheckpointVerifier::new(&vkey).expect("generated key loads");
        Fixture { lines, log, verifier }
    })
}

fn checkpoint(log: &MemoryLog, size: u64) -> Checkpoint {
    Checkpoint { origin: ORIGIN.into(), size, root: log.tree_hash(size).expect("size within the log") }
}

fn tampered(fx: &Fixture, ops: &[u8]) -> Vec<u8> {
    let mut lines = fx.lines.clone();
    for op in ops.chunks(3) {
        let [kind, a, b] = [op[0], *op.get(1).unwrap_or(&0), *op.get(2).unwrap_or(&0)];
        if lines.is_empty() {
            break;
        }
        let (i, j) = (a as usize % lines.len(), b as usize % lines.len());
        match kind % 4 {
            0 => lines.swap(i, j),
            1 => {
                lines.remove(i);
            }
            2 if lines.len() < 64 => {
                let copy = lines[j].clone();
                lines.insert(i, copy);
            }
            _ => {
                let line = &mut lines[i];
                if !line.is_empty() {
                    let k = (b as usize * 7) % line.len();
                    line[k] ^= 1 << (a % 8);
                }
            }
        }
    }
    let mut export = Vec::new();
    for line in lines {
        export.extend_from_slice(&line);
        export.push(b'\n');
    }
    export
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let fx = fixture();
    let limits = Limits { max_line_bytes: 4096, max_entries: 4096, max_findings: 64, max_tracked: 16 };
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode & 1 == 0 {
        let size = u64::from(mode >> 1) % 25;
        let history: Vec<Checkpoint> = rest.iter().take(3).map(|&s| checkpoint(&fx.log, u64::from(s) % 25)).collect();
        let export = tampered(fx, rest);
        let _ = verify_export("fuzz", &export[..], &checkpoint(&fx.log, size), &history, &limits);
    } else {
        let trusted = Checkpoint { origin: ORIGIN.into(), size: u64::from(mode >> 1), root: leaf_hash(rest) };
        let _ = verify_export("fuzz", rest, &trusted, &[], &limits);
    }

    let _ = decode(data);
    let _ = Checkpoint::parse_body(data);
    let _ = fx.verifier.verify(data);
    if let Ok(proof) = serde_json::from_slice::<InclusionProof>(data) {
        let _ = proof.verify(&fx.log.root());
    }
    if let Ok(proof) = serde_json::from_slice::<ConsistencyProof>(data) {
        let _ = proof.verify(&fx.log.root(), &fx.log.root());
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = hash_from_base64(text);
        let _ = CheckpointVerifier::new(text);
        let _ = CheckpointSigner::new(text);
    }
});
