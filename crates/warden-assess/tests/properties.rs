//! Invariants of risk scoring: controls only ever lower risks, and the assessment never panics
//! on any valid description.

use proptest::prelude::*;
use warden_assess::assess::{AssessOptions, Assessment, assess};
use warden_assess::controls;
use warden_assess::system::*;

fn arb_system() -> impl Strategy<Value = SystemDescription> {
    let provenance = prop::sample::select(vec![Provenance::Internal, Provenance::Vendor, Provenance::Partner, Provenance::UserGenerated, Provenance::Public]);
    let kind = prop::sample::select(vec![ModelKind::Classifier, ModelKind::Regressor, ModelKind::Llm, ModelKind::Embedding, ModelKind::Generative]);
    let format = prop::sample::select(vec![ModelFormat::Pickle, ModelFormat::Pytorch, ModelFormat::Onnx, ModelFormat::Safetensors, ModelFormat::Api]);
    let origin = prop::sample::select(vec![ModelOrigin::Internal, ModelOrigin::PublicHub, ModelOrigin::Vendor, ModelOrigin::Partner]);
    let exposure = prop::sample::select(vec![Exposure::Internal, Exposure::Partner, Exposure::Public]);
    let auth = prop::sample::select(vec![Authentication::None, Authentication::ApiKey, Authentication::Sso]);
    (
        prop::collection::vec((provenance, any::<bool>()), 1..4),
        prop::collection::vec((kind, format, origin, any::<bool>(), any::<bool>(), any::<bool>()), 1..4),
        prop::collection::vec((exposure, auth, any::<bool>(), any::<bool>()), 0..3),
        any::<bool>(),
        prop::collection::vec((0..controls::all().len(), any::<bool>()), 0..8),
    )
        .prop_map(|(sources, models, endpoints, about_people, ctrl)| {
            let n_models = models.len();
            let data_sources: Vec<DataSource> = sources
                .iter()
                .enumerate()
                .map(|(i, (p, personal))| DataSource { id: format!("src{i}"), name: None, provenance: *p, personal_data: *personal, special_category: false, licence: None })
                .collect();
            let datasets = vec![
                Dataset { id: "train".into(), name: None, kind: DatasetKind::Training, sources: data_sources.iter().map(|s| s.id.clone()).collect(), personal_data: false, path: None },
                Dataset { id: "index".into(), name: None, kind: DatasetKind::RetrievalIndex, sources: vec!["src0".into()], personal_data: false, path: None },
            ];
            let models: Vec<Model> = models
                .into_iter()
                .enumerate()
                .map(|(i, (kind, format, origin, signed, rag, tools))| Model {
                    id: format!("m{i}"),
                    name: None,
                    kind,
                    format,
                    origin,
                    fine_tuned_from: if i > 0 { Some("m0".into()) } else { None },
                    trained_on: vec!["train".into()],
                    retrieves_from: if rag { vec!["index".into()] } else { vec![] },
                    signed,
                    artifact: None,
                    tools: if tools { vec!["t".into()] } else { vec![] },
                    decisions: DecisionMode::Automated,
                    version: None,
                    licence: None,
                })
                .collect();
            let endpoints = endpoints
                .into_iter()
                .enumerate()
                .map(|(i, (exposure, authentication, limited, conf))| Endpoint {
                    id: format!("e{i}"),
                    name: None,
                    serves: format!("m{}", i % n_models),
                    exposure,
                    authentication,
                    rate_limit: limited.then(|| "10/s".into()),
                    returns_confidence: conf,
                    consumers: vec![],
                })
                .collect();
            let all = controls::all();
            let controls = ctrl
                .into_iter()
                .map(|(c, global)| ControlUse { control: all[c].id.clone(), applies_to: if global { vec![] } else { vec!["m0".into()] }, note: None })
                .collect();
            SystemDescription {
                version: 1,
                system: SystemInfo { name: "p".into(), description: None, owner: None, purpose: None, risk_tier: None, decisions_about_people: about_people },
                data_sources,
                datasets,
                models,
                environments: vec![Environment { id: "env".into(), name: None, kind: EnvironmentKind::Serving, hosting: Hosting::Cloud, runs: vec!["m0".into()] }],
                endpoints,
                trust_boundaries: vec![TrustBoundary { id: "b".into(), name: None, elements: vec!["train".into(), "m0".into()] }],
                flows: vec![],
                people: vec![],
                controls,
                evidence: vec![],
            }
        })
}

fn scores(a: &Assessment) -> std::collections::BTreeMap<(String, String), (u8, u8, u8)> {
    a.risks.iter().map(|r| ((r.rule.clone(), r.element.clone()), (r.residual.likelihood, r.residual.impact, r.residual.score))).collect()
}

fn run(system: &SystemDescription) -> Assessment {
    assess("p.yaml", system, Vec::new(), AssessOptions::default())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn adding_a_control_never_raises_and_removing_never_lowers(system in arb_system(), extra in 0..controls::all().len(), scope_global in any::<bool>()) {
        prop_assert!(warden_assess::load::validate(&system, Default::default()).is_empty());
        let before = run(&system);
        let mut more = system.clone();
        more.controls.push(ControlUse {
            control: controls::all()[extra].id.clone(),
            applies_to: if scope_global { vec![] } else { vec!["m0".into()] },
            note: None,
        });
        let after = run(&more);
        let (b, a) = (scores(&before), scores(&after));
        prop_assert_eq!(b.keys().collect::<Vec<_>>(), a.keys().collect::<Vec<_>>(), "controls must not change which threats apply");
        for (key, (bl, bi, bs)) in &b {
            let (al, ai, as_) = a[key];
            prop_assert!(al <= *bl && ai <= *bi && as_ <= *bs, "{key:?}: {bl}x{bi} -> {al}x{ai} after adding a control");
        }
        // Removing a control is the same pair read the other way round; check it from `more`.
        if let Some(pos) = more.controls.iter().position(|c| c.control == controls::all()[extra].id) {
            let mut fewer = more.clone();
            fewer.controls.remove(pos);
            let removed = scores(&run(&fewer));
            for (key, (ml, mi, _)) in &a {
                let (fl, fi, _) = removed[key];
                prop_assert!(fl >= *ml && fi >= *mi, "{key:?}: removing a control lowered the risk");
            }
        }
    }

    #[test]
    fn every_rendering_works_on_any_description(system in arb_system()) {
        let a = run(&system);
        prop_assert!(warden_assess::render::html::render(&a).contains("<svg"));
        prop_assert!(!warden_assess::render::markdown::render(&a).is_empty());
        for r in &a.risks {
            prop_assert!(r.residual.score <= r.inherent.score);
            prop_assert!((1..=5).contains(&r.residual.likelihood) && (1..=5).contains(&r.residual.impact));
        }
    }
}
