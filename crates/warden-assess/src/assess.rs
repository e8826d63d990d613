//! The assessment: which rules apply to which element and why, scored into a risk register.
//!
//! Scores are integers: likelihood and impact 1-5, inherent = base + modifiers (capped at 5),
//! residual = inherent - reductions of the controls in place (floored at 1), score = L x I.
//! Controls only ever subtract, and no rule condition reads controls, so adding a control can
//! never raise a risk (a property test checks this).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use warden_core::Severity;

use crate::attributes::{self, Edge};
use crate::catalogue::Catalogue;
use crate::controls;
use crate::evidence::{Evidence, EvidenceKind};
use crate::rules::{self, CompiledRule, Stage};
use crate::system::{ElementKind, SystemDescription};
use crate::taxonomy;

/// The assessment document (`--format json`).
#[derive(Debug, Clone, Serialize)]
pub struct Assessment {
    /// Layout identifier; changes when a field changes meaning.
    pub schema: &'static str,
    /// Description file, as given.
    pub source: String,
    /// The system.
    pub system: crate::system::SystemInfo,
    /// Which threat catalogue named the techniques.
    pub catalogue: CatalogueInfo,
    /// Every element with its kind, trust boundary and attributes.
    pub elements: Vec<ElementView>,
    /// Trust boundaries.
    pub trust_boundaries: Vec<crate::system::TrustBoundary>,
    /// Data flows (implied and explicit).
    pub flows: Vec<Edge>,
    /// `(environment, model)` pairs: where each model is trained or served.
    pub hosted: Vec<(String, String)>,
    /// The risk register, highest residual score first.
    pub risks: Vec<Risk>,
    /// Attached evidence.
    pub evidence: Vec<Evidence>,
    /// Counts.
    pub summary: Summary,
    /// Compliance views, when requested.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub compliance: Vec<crate::compliance::FrameworkView>,
}

/// Where technique names and mitigations came from.
#[derive(Debug, Clone, Serialize)]
pub struct CatalogueInfo {
    /// `shipped` or `atlas`.
    pub source: &'static str,
    /// ATLAS release version, when imported.
    pub version: Option<String>,
}

/// One element as the assessment saw it.
#[derive(Debug, Clone, Serialize)]
pub struct ElementView {
    /// Id.
    pub id: String,
    /// Kind.
    pub kind: ElementKind,
    /// Display name.
    pub name: String,
    /// Trust boundary id, if any.
    pub boundary: Option<String>,
    /// Attributes rules evaluated.
    pub attributes: rules::Attributes,
}

/// A technique with its names and mitigations.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TechniqueRef {
    /// ATLAS id.
    pub id: String,
    /// Name (official when a catalogue is imported, else warden's short name).
    pub name: String,
    /// Tactic names (imported catalogue only).
    pub tactics: Vec<String>,
    /// True when an imported catalogue does not (or no longer) list it.
    pub missing_from_catalogue: bool,
}

/// An OWASP Top 10 entry.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OwaspRef {
    /// `ML06`, `LLM01`...
    pub id: String,
    /// Entry name.
    pub name: String,
    /// Which list.
    pub list: &'static str,
}

/// A score component with the reason for it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Step {
    /// What changed the score.
    pub reason: String,
    /// Change in likelihood.
    pub likelihood: i8,
    /// Change in impact.
    pub impact: i8,
}

/// Likelihood, impact, score.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Score {
    /// 1-5.
    pub likelihood: u8,
    /// 1-5.
    pub impact: u8,
    /// likelihood x impact.
    pub score: u8,
}

impl Score {
    fn new(likelihood: u8, impact: u8) -> Score {
        Score { likelihood, impact, score: likelihood * impact }
    }
}

/// A mitigation: the control, what it implements in ATLAS, and how warden helps.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MitigationView {
    /// Control id.
    pub control: String,
    /// Control title.
    pub title: String,
    /// Warden command implementing it.
    pub command: Option<String>,
    /// ATLAS mitigations as `(id, name)`; names come from the imported catalogue when present.
    pub atlas: Vec<(String, String)>,
    /// Whether it is in place for this element.
    pub in_place: bool,
    /// `description` or the evidence path that established it.
    pub source: Option<String>,
}

/// One entry of the threat model and risk register.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Risk {
    /// `R-001`...
    pub id: String,
    /// Rule id.
    pub rule: String,
    /// Rule title.
    pub title: String,
    /// Element id.
    pub element: String,
    /// Element kind.
    pub element_kind: ElementKind,
    /// Lifecycle stage.
    pub stage: Stage,
    /// Why the threat applies.
    pub rationale: String,
    /// The conditions that matched, with the element's values.
    pub because: Vec<String>,
    /// ATLAS techniques.
    pub techniques: Vec<TechniqueRef>,
    /// OWASP entries.
    pub owasp: Vec<OwaspRef>,
    /// Before controls.
    pub inherent: Score,
    /// After controls.
    pub residual: Score,
    /// Score reasoning in order: base, modifiers, evidence, controls.
    pub reasoning: Vec<Step>,
    /// Mitigations: in place and missing.
    pub mitigations: Vec<MitigationView>,
    /// ATLAS mitigations the imported catalogue links to these techniques, as `(id, name)`.
    pub atlas_mitigations: Vec<(String, String)>,
    /// From the residual score.
    pub severity: Severity,
}

/// Counts for the report header.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Summary {
    /// Elements assessed.
    pub elements: usize,
    /// Risks found.
    pub risks: usize,
    /// Risks by residual severity.
    pub by_severity: BTreeMap<&'static str, usize>,
    /// Risks by lifecycle stage.
    pub by_stage: BTreeMap<&'static str, usize>,
    /// Distinct ATLAS techniques named.
    pub techniques: usize,
}

/// The severity a residual score maps to.
pub fn severity_of(score: u8) -> Severity {
    match score {
        20.. => Severity::Critical,
        12..=19 => Severity::High,
        6..=11 => Severity::Medium,
        3..=5 => Severity::Low,
        _ => Severity::Info,
    }
}

fn same_file(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.trim_start_matches("./").replace('\\', "/");
    let (a, b) = (norm(a), norm(b));
    a == b || a.ends_with(&format!("/{b}")) || b.ends_with(&format!("/{a}"))
}

/// Decides which elements each piece of evidence is about.
fn resolve_evidence(system: &SystemDescription, evidence: &mut [Evidence]) {
    for ev in evidence.iter_mut().filter(|e| e.applies_to.is_empty()) {
        let wants_data = ev.kind == EvidenceKind::DataScan;
        let by_path: Vec<String> = if wants_data {
            system.datasets.iter().filter(|d| d.path.as_deref().is_some_and(|p| ev.subjects.iter().any(|s| same_file(s, p)))).map(|d| d.id.clone()).collect()
        } else {
            system.models.iter().filter(|m| m.artifact.as_deref().is_some_and(|p| ev.subjects.iter().any(|s| same_file(s, p)))).map(|m| m.id.clone()).collect()
        };
        ev.applies_to = if !by_path.is_empty() {
            by_path
        } else if wants_data && system.datasets.len() == 1 {
            vec![system.datasets[0].id.clone()]
        } else if matches!(ev.kind, EvidenceKind::Drift | EvidenceKind::Fairness) || system.models.len() == 1 {
            system.models.iter().map(|m| m.id.clone()).collect()
        } else {
            Vec::new()
        };
    }
}

/// Options for one assessment run.
#[derive(Debug, Clone, Copy, Default)]
pub struct AssessOptions<'a> {
    /// Imported ATLAS catalogue.
    pub catalogue: Option<&'a Catalogue>,
}

/// Assesses a validated description with its evidence.
pub fn assess(source: &str, system: &SystemDescription, mut evidence: Vec<Evidence>, options: AssessOptions<'_>) -> Assessment {
    resolve_evidence(system, &mut evidence);
    let mut attrs = attributes::derive(system);
    // A verified signature is a fact about the model, not only a control.
    for ev in evidence.iter().filter(|e| e.kind == EvidenceKind::Verify && e.passed) {
        for id in &ev.applies_to {
            if let Some(a) = attrs.get_mut(id) {
                a.insert("signed".into(), serde_json::Value::Bool(true));
            }
        }
    }
    let boundary = attributes::boundary_of(system);
    let elements: Vec<ElementView> = system
        .elements()
        .into_iter()
        .map(|(id, kind, name)| ElementView {
            id: id.to_owned(),
            kind,
            name: name.to_owned(),
            boundary: boundary.get(id).cloned(),
            attributes: attrs.get(id).cloned().unwrap_or_default(),
        })
        .collect();

    let mut risks = Vec::new();
    for element in &elements {
        for rule in rules::shipped() {
            if rule.matches(element.kind, &element.attributes) {
                risks.push(score_rule(rule, element, system, &evidence, options.catalogue));
            }
        }
    }
    risks.sort_by(|a, b| {
        b.residual.score.cmp(&a.residual.score).then(a.stage.cmp(&b.stage)).then(a.rule.cmp(&b.rule)).then(a.element.cmp(&b.element))
    });
    for (i, risk) in risks.iter_mut().enumerate() {
        risk.id = format!("R-{:03}", i + 1);
    }
    let mut summary = Summary { elements: elements.len(), risks: risks.len(), ..Default::default() };
    for sev in Severity::ALL {
        summary.by_severity.insert(sev.as_str(), risks.iter().filter(|r| r.severity == sev).count());
    }
    for stage in Stage::ALL {
        summary.by_stage.insert(stage.title(), risks.iter().filter(|r| r.stage == stage).count());
    }
    summary.techniques = risks.iter().flat_map(|r| r.techniques.iter().map(|t| t.id.as_str())).collect::<BTreeSet<_>>().len();
    Assessment {
        schema: "warden.assessment/1",
        source: source.to_owned(),
        system: system.system.clone(),
        catalogue: match options.catalogue {
            Some(c) => CatalogueInfo { source: "atlas", version: Some(c.version.clone()) },
            None => CatalogueInfo { source: "shipped", version: None },
        },
        elements,
        trust_boundaries: system.trust_boundaries.clone(),
        flows: attributes::flows(system),
        hosted: system.environments.iter().flat_map(|e| e.runs.iter().map(move |m| (e.id.clone(), m.clone()))).collect(),
        risks,
        evidence,
        summary,
        compliance: Vec::new(),
    }
}

/// Controls in place for an element: from the description, then from passing evidence.
pub fn controls_in_place(system: &SystemDescription, evidence: &[Evidence], element: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for c in &system.controls {
        if c.applies_to.is_empty() || c.applies_to.iter().any(|e| e == element) {
            out.entry(c.control.clone()).or_insert_with(|| "description".to_owned());
        }
    }
    for ev in evidence.iter().filter(|e| e.applies_to.iter().any(|a| a == element)) {
        // A drift or fairness report shows the monitoring exists even when it found problems.
        if ev.passed || matches!(ev.kind, EvidenceKind::Drift | EvidenceKind::Fairness) {
            out.entry(ev.kind.control().to_owned()).or_insert_with(|| format!("evidence: {}", ev.path));
            if ev.kind == EvidenceKind::DataScan {
                out.entry("data-validation".to_owned()).or_insert_with(|| format!("evidence: {}", ev.path));
            }
        }
    }
    out
}

fn score_rule(
    compiled: &CompiledRule,
    element: &ElementView,
    system: &SystemDescription,
    evidence: &[Evidence],
    catalogue: Option<&Catalogue>,
) -> Risk {
    let rule = &compiled.rule;
    let attrs = &element.attributes;
    let mut steps = vec![Step { reason: "base score for this threat".into(), likelihood: rule.likelihood as i8, impact: rule.impact as i8 }];
    let (mut l, mut i) = (rule.likelihood, rule.impact);
    for (m, cond) in rule.modifiers.iter().zip(&compiled.modifiers) {
        if cond.holds(attrs) {
            l += m.likelihood;
            i += m.impact;
            steps.push(Step { reason: m.reason.clone(), likelihood: m.likelihood as i8, impact: m.impact as i8 });
        }
    }
    // Failing evidence about a control this rule relies on raises the risk.
    let rule_controls: Vec<&str> = rule.mitigations.iter().map(|m| m.control.as_str()).collect();
    for ev in evidence.iter().filter(|e| !e.passed && e.applies_to.contains(&element.id)) {
        if rule_controls.contains(&ev.kind.control()) {
            let (dl, di) = match ev.kind {
                EvidenceKind::Scan | EvidenceKind::Verify => (2, 0),
                EvidenceKind::DataScan | EvidenceKind::Fairness => (0, 1),
                EvidenceKind::Drift => (1, 0),
            };
            l += dl;
            i += di;
            steps.push(Step { reason: format!("attached {} report {}: {}", kind_name(ev.kind), ev.path, ev.summary), likelihood: dl as i8, impact: di as i8 });
        }
    }
    let inherent = Score::new(l.clamp(1, 5), i.clamp(1, 5));
    let in_place = controls_in_place(system, evidence, &element.id);
    let (mut rl, mut ri) = (inherent.likelihood, inherent.impact);
    let mut mitigations = Vec::new();
    for m in &rule.mitigations {
        let control = controls::find(&m.control);
        let source = in_place.get(&m.control).cloned();
        if let Some(src) = &source {
            let (before_l, before_i) = (rl, ri);
            rl = rl.saturating_sub(m.likelihood).max(1);
            ri = ri.saturating_sub(m.impact).max(1);
            steps.push(Step {
                reason: format!("control `{}` in place ({src})", m.control),
                likelihood: rl as i8 - before_l as i8,
                impact: ri as i8 - before_i as i8,
            });
        }
        let atlas = control.map(|c| c.atlas.iter().map(|id| (id.clone(), mitigation_name(catalogue, id))).collect()).unwrap_or_default();
        mitigations.push(MitigationView {
            control: m.control.clone(),
            title: control.map(|c| c.title.clone()).unwrap_or_default(),
            command: control.and_then(|c| c.command.clone()),
            atlas,
            in_place: source.is_some(),
            source,
        });
    }
    let residual = Score::new(rl, ri);
    let taxonomy = taxonomy::shipped();
    let techniques: Vec<TechniqueRef> = rule
        .atlas
        .iter()
        .map(|id| {
            let shipped = taxonomy.technique(id).unwrap_or(id).to_owned();
            match catalogue {
                Some(cat) => match cat.technique(id) {
                    Some(t) => TechniqueRef {
                        id: id.clone(),
                        name: t.name.clone(),
                        tactics: t.tactics.iter().map(|x| cat.tactics.get(x).cloned().unwrap_or_else(|| x.clone())).collect(),
                        missing_from_catalogue: false,
                    },
                    None => TechniqueRef { id: id.clone(), name: shipped, tactics: Vec::new(), missing_from_catalogue: true },
                },
                None => TechniqueRef { id: id.clone(), name: shipped, tactics: Vec::new(), missing_from_catalogue: false },
            }
        })
        .collect();
    let atlas_mitigations: Vec<(String, String)> = match catalogue {
        Some(cat) => rule
            .atlas
            .iter()
            .flat_map(|t| cat.mitigations_for(t))
            .map(|m| (m.id.clone(), m.name.clone()))
            .collect::<BTreeMap<_, _>>()
            .into_iter()
            .collect(),
        None => Vec::new(),
    };
    Risk {
        id: String::new(),
        rule: rule.id.clone(),
        title: rule.title.clone(),
        element: element.id.clone(),
        element_kind: element.kind,
        stage: rule.stage,
        rationale: rule.rationale.clone(),
        because: compiled.when.iter().map(|c| c.explain(attrs)).collect(),
        techniques,
        owasp: rule
            .owasp
            .iter()
            .map(|id| OwaspRef { id: id.clone(), name: taxonomy.owasp(id).unwrap_or(id).to_owned(), list: taxonomy::owasp_list(id) })
            .collect(),
        inherent,
        residual,
        reasoning: steps,
        mitigations,
        atlas_mitigations,
        severity: severity_of(residual.score),
    }
}

fn mitigation_name(catalogue: Option<&Catalogue>, id: &str) -> String {
    catalogue.and_then(|c| c.mitigations.get(id)).map(|m| m.name.clone()).unwrap_or_default()
}

fn kind_name(kind: EvidenceKind) -> &'static str {
    match kind {
        EvidenceKind::Scan => "scan",
        EvidenceKind::Verify => "verify",
        EvidenceKind::DataScan => "data scan",
        EvidenceKind::Drift => "drift",
        EvidenceKind::Fairness => "fairness",
    }
}

/// The risks as findings, so the standard table/JSON/SARIF renderers work.
pub fn to_report(assessment: &Assessment) -> warden_core::Report {
    let mut report = warden_core::Report::default();
    for risk in &assessment.risks {
        let mut finding = warden_core::Finding::new(
            risk.rule.as_str(),
            risk.severity,
            risk.title.clone(),
            format!(
                "{} `{}`: {} (likelihood {} x impact {} = {}; because {})",
                risk.element_kind.as_str(),
                risk.element,
                risk.rationale,
                risk.residual.likelihood,
                risk.residual.impact,
                risk.residual.score,
                risk.because.join(", ")
            ),
            warden_core::Location::file(assessment.source.clone()).with_member(format!("{}/{}", risk.element_kind.as_str(), risk.element)),
        );
        finding.atlas = risk.techniques.iter().map(|t| t.id.clone()).collect();
        let missing: Vec<String> = risk
            .mitigations
            .iter()
            .filter(|m| !m.in_place)
            .map(|m| match &m.command {
                Some(cmd) => format!("{} ({cmd})", m.control),
                None => m.control.clone(),
            })
            .collect();
        if !missing.is_empty() {
            finding.remediation = Some(format!("add: {}", missing.join(", ")));
        }
        finding.evidence = Some(risk.reasoning.iter().map(|s| format!("{:+}L {:+}I {}", s.likelihood, s.impact, s.reason)).collect::<Vec<_>>().join("; "));
        report.findings.push(finding);
    }
    report.files.push(warden_core::FileRecord {
        path: assessment.source.clone(),
        format: "system-description".into(),
        status: warden_core::FileStatus::Scanned,
    });
    report
}
