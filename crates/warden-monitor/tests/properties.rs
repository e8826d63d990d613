//! Invariants of the statistics and the detectors, on arbitrary inputs.

use proptest::prelude::*;
use warden_monitor::detect::{Event, Input, Monitor, MonitorConfig, Output};
use warden_monitor::stats::{jensen_shannon, kolmogorov_sf, ks_2samp, psi, wasserstein};

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

proptest! {
    #[test]
    fn ks_is_symmetric_and_bounded(a in prop::collection::vec(-1e6f64..1e6, 1..300), b in prop::collection::vec(-1e6f64..1e6, 1..300)) {
        let (a, b) = (sorted(a), sorted(b));
        let (d1, p1, _) = ks_2samp(&a, &b).unwrap();
        let (d2, p2, _) = ks_2samp(&b, &a).unwrap();
        prop_assert!((0.0..=1.0).contains(&d1) && (0.0..=1.0).contains(&p1));
        prop_assert!((d1 - d2).abs() < 1e-12 && (p1 - p2).abs() < 1e-9);
        let (d0, p0, _) = ks_2samp(&a, &a).unwrap();
        prop_assert_eq!((d0, p0), (0.0, 1.0));
    }

    #[test]
    fn kolmogorov_sf_is_a_probability(n in 1u64..200_000, x in 0.0f64..1.0) {
        let p = kolmogorov_sf(n, x);
        prop_assert!((0.0..=1.0).contains(&p), "{n} {x} {p}");
    }

    #[test]
    fn wasserstein_is_a_metric_and_shift_equivariant(a in prop::collection::vec(-1e3f64..1e3, 1..100), b in prop::collection::vec(-1e3f64..1e3, 1..100), shift in -100.0f64..100.0) {
        let (a, b) = (sorted(a), sorted(b));
        let w = wasserstein(&a, &b);
        prop_assert!(w >= 0.0);
        prop_assert!((w - wasserstein(&b, &a)).abs() <= 1e-9 * w.max(1.0));
        prop_assert!(wasserstein(&a, &a).abs() < 1e-12);
        let shifted: Vec<f64> = a.iter().map(|x| x + shift).collect();
        prop_assert!((wasserstein(&a, &shifted) - shift.abs()).abs() <= 1e-6 * shift.abs().max(1.0));
    }

    #[test]
    fn jensen_shannon_and_psi_bounds(p in prop::collection::vec(0.0f64..10.0, 2..20)) {
        prop_assume!(p.iter().sum::<f64>() > 0.0);
        let q: Vec<f64> = p.iter().rev().copied().collect();
        let js = jensen_shannon(&p, &q);
        prop_assert!((0.0..=std::f64::consts::LN_2.sqrt() + 1e-12).contains(&js));
        prop_assert!(jensen_shannon(&p, &p) < 1e-7);
        let (sp, sq): (f64, f64) = (p.iter().sum(), q.iter().sum());
        let (ps, qs): (Vec<f64>, Vec<f64>) = (p.iter().map(|x| x / sp).collect(), q.iter().map(|x| x / sq).collect());
        prop_assert!(psi(&ps, &qs) >= -1e-12);
    }

    #[test]
    fn detectors_never_panic_and_stay_bounded(events in prop::collection::vec((0u8..20, prop::collection::vec(-1e9f64..1e9, 0..12), prop::collection::vec(0.0f64..1.0, 0..6), any::<f64>()), 0..400)) {
        let config = MonitorConfig { max_clients: 5, prada_window: 20, prada_history: 16, ..MonitorConfig::default() };
        let mut m = Monitor::new(config, None, "prop");
        for (c, x, p, ts) in events {
            let e = Event { ts, client_id: format!("c{c}"), input: Input::Vector(x), output: Some(Output::Probabilities(p)) };
            let _ = m.observe(&e, None);
            prop_assert!(m.tracked_clients() <= 5);
        }
    }
}
