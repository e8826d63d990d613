//! The vocabulary of controls a description may declare, shipped as `data/controls.yaml`.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// One control: what it is, which ATLAS mitigations it implements, which warden command helps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    /// Stable id used in descriptions.
    pub id: String,
    /// One line, in warden's own words.
    pub title: String,
    /// The warden command that implements or evidences it.
    #[serde(default)]
    pub command: Option<String>,
    /// ATLAS mitigation ids it implements.
    #[serde(default)]
    pub atlas: Vec<String>,
}

const CONTROLS_YAML: &str = include_str!("../data/controls.yaml");

/// Every shipped control, in file order.
pub fn all() -> &'static [Control] {
    static CONTROLS: OnceLock<Vec<Control>> = OnceLock::new();
    // The file ships inside the binary and a unit test parses it, so failure is a build defect.
    CONTROLS.get_or_init(|| serde_saphyr::from_str(CONTROLS_YAML).expect("data/controls.yaml is valid"))
}

/// The control with this id.
pub fn find(id: &str) -> Option<&'static Control> {
    all().iter().find(|c| c.id == id)
}

/// Every control id.
pub fn ids() -> Vec<&'static str> {
    all().iter().map(|c| c.id.as_str()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_controls_parse_with_unique_ids_and_valid_mitigation_ids() {
        let all = all();
        assert!(all.len() > 20);
        let mut ids: Vec<&str> = ids();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), all.len(), "duplicate control id");
        for c in all {
            for m in &c.atlas {
                assert!(m.starts_with("AML.M") && m.len() == 9, "{}: bad mitigation id {m}", c.id);
            }
        }
    }
}
