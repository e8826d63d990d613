//! The in-toto Statement v1 that OMS signs: building it from a [`Manifest`] and reading one
//! back from untrusted bytes, with every check model_signing makes (statement type, predicate
//! type, a single subject, resource digests hashing to the subject digest) and a few more
//! (hex digests of the right length, resource algorithms matching the serialisation, unique
//! names, no absolute or `..` names).

use serde::{Deserialize, Serialize};

use crate::digest::{HashAlgorithm, from_hex, to_hex};
use crate::manifest::{Manifest, Method, Resource, ResourceKey, Serialization};

/// in-toto statement type.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// OMS v1.0 predicate type.
pub const PREDICATE_TYPE: &str = "https://model_signing/signature/v1.0";
/// The pre-1.0 predicate model_signing still reads; warden reports it as unsupported.
pub const PREDICATE_TYPE_V0_1: &str = "https://model_signing/Digests/v0.1";

/// Why a statement cannot be read as an OMS manifest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatementError {
    /// Not JSON, or JSON of the wrong shape.
    #[error("the signed statement is not a valid OMS statement: {0}")]
    Malformed(String),
    /// Another statement or predicate type.
    #[error("{0}")]
    WrongType(String),
    /// The resources do not hash to the subject digest.
    #[error("the manifest is inconsistent: its resources hash to {actual}, but the subject digest is {expected}")]
    Inconsistent {
        /// The subject digest (hex).
        expected: String,
        /// SHA-256 over the resource digests (hex).
        actual: String,
    },
}

#[derive(Serialize, Deserialize)]
struct Statement {
    #[serde(rename = "_type")]
    kind: String,
    subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    predicate: serde_json::Value,
}

#[derive(Serialize, Deserialize)]
struct Subject {
    name: String,
    digest: SubjectDigest,
}

#[derive(Serialize, Deserialize)]
struct SubjectDigest {
    sha256: String,
}

#[derive(Serialize, Deserialize)]
struct Predicate {
    serialization: SerializationJson,
    resources: Vec<ResourceJson>,
}

#[derive(Serialize, Deserialize)]
struct SerializationJson {
    method: String,
    hash_type: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    shard_size: Option<serde_json::Number>,
    allow_symlinks: bool,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    ignore_paths: Option<Vec<String>>,
}

#[derive(Serialize, Deserialize)]
struct ResourceJson {
    algorithm: String,
    digest: String,
    name: String,
}

/// The statement's JSON bytes (pretty-printed like model_signing's payloads).
pub fn to_json(manifest: &Manifest) -> Vec<u8> {
    let ser = &manifest.serialization;
    let algorithm = ser.resource_algorithm();
    let predicate = Predicate {
        serialization: SerializationJson {
            method: match ser.method {
                Method::Files => "files".into(),
                Method::Shards { .. } => "shards".into(),
            },
            hash_type: ser.hash.name().into(),
            shard_size: match ser.method {
                Method::Files => None,
                Method::Shards { shard_size } => Some(shard_size.into()),
            },
            allow_symlinks: ser.allow_symlinks,
            ignore_paths: (!ser.ignore_paths.is_empty()).then(|| ser.ignore_paths.clone()),
        },
        resources: manifest
            .resources
            .iter()
            .map(|r| ResourceJson { algorithm: algorithm.clone(), digest: to_hex(&r.digest), name: r.key.name() })
            .collect(),
    };
    let statement = Statement {
        kind: STATEMENT_TYPE.into(),
        subject: vec![Subject { name: manifest.model_name.clone(), digest: SubjectDigest { sha256: to_hex(&manifest.root_digest()) } }],
        predicate_type: PREDICATE_TYPE.into(),
        predicate: serde_json::to_value(predicate).expect("plain structs serialise"),
    };
    serde_json::to_vec_pretty(&statement).expect("plain structs serialise")
}

/// Reads a manifest from statement bytes (already authenticated by the caller's signature
/// check, but still parsed defensively: it may come from a buggy or hostile signer).
pub fn from_json(bytes: &[u8]) -> Result<Manifest, StatementError> {
    let malformed = |m: String| StatementError::Malformed(m);
    let statement: Statement = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
    if statement.kind != STATEMENT_TYPE {
        return Err(StatementError::WrongType(format!("expected an in-toto {STATEMENT_TYPE} statement, got `{}`", statement.kind)));
    }
    if statement.predicate_type == PREDICATE_TYPE_V0_1 {
        return Err(StatementError::WrongType(format!(
            "the pre-1.0 predicate `{PREDICATE_TYPE_V0_1}` is not supported; re-sign the model with a current signer"
        )));
    }
    if statement.predicate_type != PREDICATE_TYPE {
        return Err(StatementError::WrongType(format!(
            "predicate type mismatch: expected `{PREDICATE_TYPE}`, got `{}`",
            statement.predicate_type
        )));
    }
    let [subject] = <[Subject; 1]>::try_from(statement.subject).map_err(|s| malformed(format!("expected exactly one subject, got {}", s.len())))?;
    let predicate: Predicate = serde_json::from_value(statement.predicate).map_err(|e| malformed(format!("predicate: {e}")))?;
    let serialization = read_serialization(&predicate.serialization)?;
    let algorithm = serialization.resource_algorithm();
    let mut resources = Vec::with_capacity(predicate.resources.len());
    let mut subject_hasher = HashAlgorithm::Sha256.hasher();
    let mut seen = std::collections::HashSet::new();
    for r in &predicate.resources {
        // model_signing writes `sha256-sharded-N` for shards; the OMS schema lists plain `sha256`.
        if r.algorithm != algorithm && r.algorithm != serialization.hash.name() {
            return Err(malformed(format!("resource `{}` uses algorithm `{}`, but the serialisation says `{algorithm}`", r.name, r.algorithm)));
        }
        let digest = from_hex(&r.digest).filter(|d| d.len() == 32).ok_or_else(|| malformed(format!("resource `{}` has a bad digest `{}`", r.name, r.digest)))?;
        let key = ResourceKey::parse(&r.name, serialization.method).ok_or_else(|| malformed(format!("bad resource name `{}`", r.name)))?;
        if !safe_name(&key.path) {
            return Err(malformed(format!("resource name `{}` is absolute, empty or climbs out of the model", r.name)));
        }
        if !seen.insert(key.clone()) {
            return Err(malformed(format!("resource `{}` is listed twice", r.name)));
        }
        subject_hasher.update(&digest);
        resources.push(Resource { key, digest });
    }
    let actual = to_hex(&subject_hasher.finish());
    if actual != subject.digest.sha256.to_ascii_lowercase() {
        return Err(StatementError::Inconsistent { expected: subject.digest.sha256, actual });
    }
    Ok(Manifest::new(subject.name, serialization, resources))
}

fn read_serialization(json: &SerializationJson) -> Result<Serialization, StatementError> {
    let malformed = |m: String| StatementError::Malformed(m);
    let hash = HashAlgorithm::from_name(&json.hash_type).map_err(|e| malformed(e.to_string()))?;
    let method = match json.method.as_str() {
        "files" => Method::Files,
        "shards" => {
            let size = json.shard_size.as_ref().ok_or_else(|| malformed("`shards` serialisation without `shard_size`".into()))?;
            Method::Shards { shard_size: whole_number(size).ok_or_else(|| malformed(format!("bad shard size `{size}`")))? }
        }
        other => return Err(malformed(format!("unknown serialisation method `{other}`"))),
    };
    Ok(Serialization { method, hash, allow_symlinks: json.allow_symlinks, ignore_paths: json.ignore_paths.clone().unwrap_or_default() })
}

/// A positive whole number; model_signing writes shard sizes as floats (`1000.0`).
fn whole_number(n: &serde_json::Number) -> Option<u64> {
    if let Some(v) = n.as_u64() {
        return (v > 0).then_some(v);
    }
    let f = n.as_f64()?;
    (f >= 1.0 && f.fract() == 0.0 && f < 9.0e15).then_some(f as u64)
}

fn safe_name(path: &str) -> bool {
    path == "." || (!path.is_empty() && !path.starts_with('/') && !path.contains('\0') && path.split('/').all(|c| !c.is_empty() && c != "." && c != ".."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(method: Method) -> Manifest {
        let ser = Serialization { method, hash: HashAlgorithm::Sha256, allow_symlinks: false, ignore_paths: vec![".git".into(), "model.sig".into()] };
        let range = matches!(method, Method::Shards { .. }).then_some((0, 3));
        Manifest::new(
            "model".into(),
            ser,
            vec![
                Resource { key: ResourceKey { path: "b".into(), range }, digest: HashAlgorithm::Sha256.digest(b"b") },
                Resource { key: ResourceKey { path: "a/x".into(), range }, digest: HashAlgorithm::Sha256.digest(b"a") },
            ],
        )
    }

    #[test]
    fn statements_round_trip() {
        for method in [Method::Files, Method::Shards { shard_size: 3 }] {
            let m = sample(method);
            assert_eq!(from_json(&to_json(&m)).unwrap(), m);
        }
    }

    #[test]
    fn shard_statement_uses_model_signing_algorithm_names() {
        let json: serde_json::Value = serde_json::from_slice(&to_json(&sample(Method::Shards { shard_size: 3 }))).unwrap();
        assert_eq!(json["predicate"]["resources"][0]["algorithm"], "sha256-sharded-3");
        assert_eq!(json["predicate"]["resources"][0]["name"], "a/x:0:3");
        assert_eq!(json["predicate"]["serialization"]["shard_size"], 3);
    }

    #[test]
    fn float_shard_sizes_from_model_signing_are_read() {
        let text = String::from_utf8(to_json(&sample(Method::Shards { shard_size: 3 }))).unwrap().replace("\"shard_size\": 3", "\"shard_size\": 3.0");
        assert_eq!(from_json(text.as_bytes()).unwrap().serialization.method, Method::Shards { shard_size: 3 });
    }

    #[test]
    fn tampered_resources_break_the_subject_digest() {
        let m = sample(Method::Files);
        let text = String::from_utf8(to_json(&m)).unwrap();
        let tampered = text.replace(&to_hex(&m.resources[0].digest), &to_hex(&[0u8; 32]));
        assert!(matches!(from_json(tampered.as_bytes()), Err(StatementError::Inconsistent { .. })));
    }

    #[test]
    fn wrong_types_and_escaping_names_are_rejected() {
        let text = String::from_utf8(to_json(&sample(Method::Files))).unwrap();
        assert!(matches!(from_json(text.replace(PREDICATE_TYPE, "https://x/y").as_bytes()), Err(StatementError::WrongType(_))));
        assert!(matches!(from_json(text.replace("\"a/x\"", "\"../x\"").as_bytes()), Err(StatementError::Malformed(_))));
        assert!(matches!(from_json(b"[]"), Err(StatementError::Malformed(_))));
    }
}
