//! Invariants of profiling and validation: a table always passes the expectations derived from
//! its own profile, and neither side panics on arbitrary cells.

use proptest::prelude::*;

use super::profile::{ProfileSettings, TableProfiler};
use super::{Expectations, ValidateSettings, Validator};

fn cell() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some(String::new())),
        any::<i32>().prop_map(|i| Some(i.to_string())),
        (-1e9f64..1e9).prop_map(|f| Some(format!("{f}"))),
        "[A-Za-z0-9 _@.-]{0,12}".prop_map(Some),
        any::<String>().prop_map(Some),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn a_table_passes_the_expectations_of_its_own_profile(
        a in proptest::collection::vec(cell(), 0..40),
        b in proptest::collection::vec(cell(), 0..40),
    ) {
        let n = a.len().min(b.len());
        let cols: Vec<Vec<Option<&str>>> =
            [&a[..n], &b[..n]].iter().map(|c| c.iter().map(|v| v.as_deref()).collect()).collect();
        let header = vec!["a".to_owned(), "b".to_owned()];
        let mut profiler = TableProfiler::new(&header, ProfileSettings::default());
        profiler.push_batch(&cols);
        let expectations = Expectations::from_profile(&profiler.finish());
        // The derived file survives a TOML round trip.
        let reparsed = Expectations::parse(&expectations.to_toml().unwrap()).unwrap();
        let mut validator = Validator::new(reparsed, &header, ValidateSettings::default()).unwrap();
        validator.push_batch(&cols);
        let findings = validator.finish("t.csv");
        prop_assert!(findings.is_empty(), "{:#?}", findings);
    }
}
