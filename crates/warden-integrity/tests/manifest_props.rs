//! Property tests: shard plans cover every byte exactly once, manifests survive the statement
//! round trip in model_signing's order, and the bundle and statement parsers never panic.

use proptest::prelude::*;
use warden_integrity::bundle::Bundle;
use warden_integrity::hash::shard_ranges;
use warden_integrity::manifest::{Manifest, Method, Resource, ResourceKey, Serialization};
use warden_integrity::{HashAlgorithm, statement};

fn path() -> impl Strategy<Value = String> {
    proptest::collection::vec("[a-zA-Z0-9_.-]{1,6}", 1..4)
        .prop_map(|parts| parts.join("/"))
        .prop_filter("no . or .. components", |p| p.split('/').all(|c| c != "." && c != ".."))
}

fn manifest() -> impl Strategy<Value = Manifest> {
    let method = prop_oneof![Just(Method::Files), (1u64..1 << 40).prop_map(|shard_size| Method::Shards { shard_size })];
    let hash = prop_oneof![Just(HashAlgorithm::Sha256), Just(HashAlgorithm::Blake3)];
    let entries = proptest::collection::btree_map(path(), (proptest::array::uniform32(any::<u8>()), 0u64..1 << 40, 1u64..1 << 20), 0..12);
    let ignore = proptest::collection::vec(path(), 0..3);
    ("[a-z]{0,8}", method, hash, entries, ignore).prop_map(|(name, method, hash, entries, ignore_paths)| {
        let resources = entries
            .into_iter()
            .map(|(path, (digest, start, len))| {
                let range = matches!(method, Method::Shards { .. }).then_some((start, start + len));
                Resource { key: ResourceKey { path, range }, digest: digest.to_vec() }
            })
            .collect();
        Manifest::new(name, Serialization { method, hash, allow_symlinks: false, ignore_paths }, resources)
    })
}

proptest! {
    #[test]
    fn shards_cover_each_byte_once(size in 0u64..1 << 44, shard in 1u64..1 << 34) {
        let ranges: Vec<_> = shard_ranges(size, shard).collect();
        prop_assert_eq!(ranges.len() as u64, size.div_ceil(shard));
        let mut next = 0;
        for (i, (start, end)) in ranges.iter().enumerate() {
            prop_assert_eq!(*start, next);
            prop_assert!(end > start && end - start <= shard);
            if i + 1 < ranges.len() {
                prop_assert_eq!(end - start, shard);
            }
            next = *end;
        }
        prop_assert_eq!(next, size);
    }

    #[test]
    fn statements_round_trip_in_model_signing_order(m in manifest()) {
        let back = statement::from_json(&statement::to_json(&m)).unwrap();
        prop_assert_eq!(&back, &m);
        for pair in back.resources.windows(2) {
            prop_assert!(pair[0].key.compare(&pair[1].key).is_lt());
        }
    }

    #[test]
    fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Bundle::from_json(&bytes);
        let _ = statement::from_json(&bytes);
    }
}
