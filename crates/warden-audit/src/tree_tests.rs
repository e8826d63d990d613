//! Tests of the tree: RFC 6962 vectors, proofs that verify and proofs that must not.

use proptest::prelude::*;

use super::*;

/// The leaves of the RFC 6962 reference tree used by the certificate-transparency test suites.
fn ct_leaves() -> Vec<Vec<u8>> {
    vec![
        vec![],
        vec![0x00],
        vec![0x10],
        vec![0x20, 0x21],
        vec![0x30, 0x31],
        vec![0x40, 0x41, 0x42, 0x43],
        (0x50..0x58).collect(),
        (0x60..0x70).collect(),
    ]
}

/// Tree heads of the first 1..=8 reference leaves (also recomputed with Python's hashlib).
const CT_ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn hex_hash(hex: &str) -> Hash {
    let bytes: Vec<u8> = (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
    Hash(bytes.try_into().unwrap())
}

fn b64s(hexes: &[&str]) -> Vec<String> {
    hexes.iter().map(|h| hash_to_base64(&hex_hash(h))).collect()
}

/// Stored hashes in a plain vector, the simplest possible store.
#[derive(Default)]
struct Store(Vec<Hash>);

impl HashReader for Store {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, HashReadError> {
        indexes.iter().map(|&i| self.0.get(i as usize).copied().ok_or(HashReadError::IndexesNotInTree)).collect()
    }
}

fn store_of(leaves: &[Vec<u8>]) -> Store {
    let mut store = Store::default();
    for (n, leaf) in leaves.iter().enumerate() {
        let new = stored_hashes(n as u64, leaf, &store).unwrap();
        store.0.extend(new);
    }
    assert_eq!(store.0.len() as u64, stored_hash_count(leaves.len() as u64));
    store
}

#[test]
fn tree_heads_match_the_rfc6962_reference_vectors() {
    let leaves = ct_leaves();
    let store = store_of(&leaves);
    let mut range = CompactRange::new();
    assert_eq!(tree_hash(0, &store).unwrap(), EMPTY_HASH);
    assert_eq!(range.root(), EMPTY_HASH);
    for (i, leaf) in leaves.iter().enumerate() {
        range.push(leaf_hash(leaf));
        let want = hex_hash(CT_ROOTS[i]);
        assert_eq!(tree_hash(i as u64 + 1, &store).unwrap(), want, "size {}", i + 1);
        assert_eq!(range.root(), want, "compact range, size {}", i + 1);
        assert_eq!(range.size(), i as u64 + 1);
    }
    // Go's sumdb/tlog and tlog_tiles both use this leaf as their checkpoint example.
    assert_eq!(hash_to_base64(&leaf_hash(b"hello world")), "TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=");
}

#[test]
fn proofs_match_the_reference_vectors() {
    let store = store_of(&ct_leaves());
    let p = prove_inclusion(0, 8, &store).unwrap();
    assert_eq!(
        p.hashes,
        b64s(&[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ])
    );
    p.verify(&hex_hash(CT_ROOTS[7])).unwrap();
    let p = prove_inclusion(5, 8, &store).unwrap();
    assert_eq!(
        p.hashes,
        b64s(&[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ])
    );
    let c = prove_consistency(6, 8, &store).unwrap();
    assert_eq!(
        c.hashes,
        b64s(&[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ])
    );
    c.verify(&hex_hash(CT_ROOTS[5]), &hex_hash(CT_ROOTS[7])).unwrap();
    let c = prove_consistency(2, 5, &store).unwrap();
    assert_eq!(
        c.hashes,
        b64s(&[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ])
    );
}

#[test]
fn proofs_serialise_as_the_api_returns_them() {
    let store = store_of(&ct_leaves());
    let json = serde_json::to_value(prove_inclusion(2, 3, &store).unwrap()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "index": 2, "tree_size": 3,
            "leaf_hash": hash_to_base64(&leaf_hash(&[0x10])),
            "hashes": b64s(&["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
        })
    );
    let back: InclusionProof = serde_json::from_value(json).unwrap();
    back.verify_entry(&[0x10], &hex_hash(CT_ROOTS[2])).unwrap();
    assert!(matches!(back.verify_entry(&[0x11], &hex_hash(CT_ROOTS[2])), Err(TreeError::InvalidProof)));
}

#[test]
fn malformed_proofs_are_errors_not_panics() {
    let root = hex_hash(CT_ROOTS[7]);
    let leaf = hash_to_base64(&leaf_hash(&[]));
    let mut p = InclusionProof { index: 0, tree_size: 8, leaf_hash: leaf.clone(), hashes: vec!["!!".into()] };
    assert!(matches!(p.verify(&root), Err(TreeError::MalformedProof(_))));
    p.hashes = vec![leaf.clone(); 65];
    assert!(matches!(p.verify(&root), Err(TreeError::MalformedProof(_))));
    p.hashes = vec![leaf.clone(); 64];
    assert!(matches!(p.verify(&root), Err(TreeError::InvalidProof)));
    for (index, tree_size) in [(8, 8), (0, 0), (u64::MAX - 1, u64::MAX)] {
        let p = InclusionProof { index, tree_size, leaf_hash: leaf.clone(), hashes: vec![] };
        assert!(p.verify(&root).is_err());
    }
    let p = InclusionProof { index: 0, tree_size: 1, leaf_hash: "AAAA".into(), hashes: vec![] };
    assert!(matches!(p.verify(&root), Err(TreeError::MalformedProof(_))));
    for (old_size, new_size) in [(9, 8), (0, u64::MAX), (3, 8), (8, 8)] {
        let c = ConsistencyProof { old_size, new_size, hashes: vec![leaf.clone(); 3] };
        assert!(c.verify(&root, &root).is_err(), "{old_size} {new_size}");
    }
    let empty = ConsistencyProof { old_size: 0, new_size: 8, hashes: vec![] };
    empty.verify(&EMPTY_HASH, &root).unwrap();
    assert!(empty.verify(&root, &root).is_err());
}

#[test]
fn a_reader_returning_too_few_hashes_is_an_error() {
    struct Short;
    impl HashReader for Short {
        fn read_hashes(&self, _: &[u64]) -> Result<Vec<Hash>, HashReadError> {
            Ok(vec![])
        }
    }
    assert!(matches!(tree_hash(5, &Short), Err(TreeError::Read(_))));
    assert!(matches!(stored_hashes(3, b"x", &Short), Err(TreeError::Read(_))));
    assert!(prove_inclusion(1, 5, &Short).is_err());
    assert!(prove_consistency(2, 5, &Short).is_err());
    assert!(tree_hash(u64::MAX, &Short).is_err());
}

#[test]
fn prefetched_hashes_answer_like_the_store() {
    let leaves: Vec<Vec<u8>> = (0..23u8).map(|i| vec![i; 3]).collect();
    let store = store_of(&leaves);
    let fetch = |indexes: Vec<u64>| PrefetchedHashes(indexes.iter().map(|&i| (i, store.0[i as usize])).collect());
    let n = leaves.len() as u64;
    assert_eq!(tree_hash(13, &fetch(indexes_for_tree_hash(13).unwrap())).unwrap(), tree_hash(13, &store).unwrap());
    assert_eq!(
        prove_inclusion(7, n, &fetch(indexes_for_inclusion(7, n).unwrap())).unwrap(),
        prove_inclusion(7, n, &store).unwrap()
    );
    assert_eq!(
        prove_consistency(9, n, &fetch(indexes_for_consistency(9, n).unwrap())).unwrap(),
        prove_consistency(9, n, &store).unwrap()
    );
    let mut grown = Store(store.0.clone());
    let reader = fetch(indexes_for_append(n).unwrap());
    grown.0.extend(stored_hashes(n, b"next", &reader).unwrap());
    assert_eq!(grown.0, store_of(&[leaves, vec![b"next".to_vec()]].concat()).0);
    assert!(PrefetchedHashes::default().read_hashes(&[1]).is_err());
}

proptest! {
    #[test]
    fn every_proof_verifies_and_wrong_claims_fail(n in 1u64..70, picks in proptest::collection::vec((any::<u64>(), any::<u64>()), 6)) {
        let leaves: Vec<Vec<u8>> = (0..n).map(|i| i.to_be_bytes().to_vec()).collect();
        let store = store_of(&leaves);
        for (a, b) in picks {
            let size = 1 + a % n;
            let index = b % size;
            let root = tree_hash(size, &store).unwrap();
            let proof = prove_inclusion(index, size, &store).unwrap();
            prop_assert!(proof.verify_entry(&leaves[index as usize], &root).is_ok());
            // Another leaf, another index or another tree must not verify.
            let other = (index + 1) % size;
            if other != index {
                prop_assert!(proof.verify_entry(&leaves[other as usize], &root).is_err());
                let moved = InclusionProof { index: other, ..proof.clone() };
                prop_assert!(moved.verify(&root).is_err());
            }
            if size < n {
                let bigger = tree_hash(size + 1, &store).unwrap();
                prop_assert!(proof.verify(&bigger).is_err());
            }

            let old = a % (size + 1);
            let old_root = tree_hash(old, &store).unwrap();
            let consistency = prove_consistency(old, size, &store).unwrap();
            prop_assert!(consistency.verify(&old_root, &root).is_ok());
            if old > 0 && old < size {
                let wrong_old = tree_hash(old - 1, &store).unwrap();
                prop_assert!(consistency.verify(&wrong_old, &root).is_err());
                let resized = ConsistencyProof { old_size: old - 1, ..consistency.clone() };
                prop_assert!(resized.verify(&old_root, &root).is_err());
            }
            if old > 0 && size < n {
                let other_new = tree_hash(size + 1, &store).unwrap();
                prop_assert!(consistency.verify(&old_root, &other_new).is_err());
            }
        }
    }
}
