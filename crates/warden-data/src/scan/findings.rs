//! Turning a [`Detection`] into a [`Finding`] that never carries the full value.

use warden_core::{Finding, Location};

use crate::pii::mask::mask_for_report;
use crate::pii::{Detection, Entity};

/// ATLAS techniques a PII finding relates to.
fn atlas(entity: Entity) -> Vec<String> {
    match entity {
        // Unsecured Credentials.
        Entity::Secret => vec!["AML.T0055".to_owned()],
        // LLM Data Leakage: personal data in training data can be extracted from the model.
        _ => vec!["AML.T0057".to_owned()],
    }
}

fn remediation(entity: Entity) -> &'static str {
    match entity {
        Entity::Secret => "Revoke and rotate the credential, then remove it from the dataset; secrets in training data can be extracted from the model.",
        _ => "Remove or anonymise this value before training or sharing the data (`warden data anonymize`).",
    }
}

/// The finding for `d` found in `text` at `location` (which names the row/column or line).
pub fn finding_for(d: &Detection, text: &str, mut location: Location, where_: &str) -> Finding {
    let (start, end) = d.char_span(text);
    location.start = Some(start as u64);
    location.end = Some(end as u64);
    let masked = mask_for_report(&text[d.start..d.end]);
    let mut f = Finding::new(
        d.entity.rule_id(),
        d.entity.severity(),
        d.entity.title(),
        format!("{} {where_}, characters {start}..{end}: `{masked}` (score {:.2})", d.entity.as_str().replace('_', " "), d.score),
        location,
    );
    f.evidence = Some(format!("recognizer={} score={:.2} masked={masked}", d.recognizer, d.score));
    f.atlas = atlas(d.entity);
    f.remediation = Some(remediation(d.entity).to_owned());
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_mask_the_value() {
        let text = "key AKIAIOSFODNN7EXAMPLE here";
        let d = Detection { entity: Entity::Secret, recognizer: "aws-access-key", start: 4, end: 24, score: 0.95 };
        let f = finding_for(&d, text, Location::file("a.txt"), "on line 1");
        let json = serde_json::to_string(&f).unwrap();
        assert!(!json.contains("AKIAIOSFODNN7EXAMPLE"), "{json}");
        assert_eq!(f.rule_id.as_str(), "pii.secret");
        assert_eq!((f.location.start, f.location.end), (Some(4), Some(24)));
    }
}
