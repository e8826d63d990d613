//! The JSON Schema of the description format and the commented starter file.

/// JSON Schema (draft 2020-12) of the system description format, version 1.
pub const SYSTEM_SCHEMA: &str = include_str!("../schema/system.schema.json");

/// The commented starting description written by `warden assess init`.
pub const INIT_TEMPLATE: &str = include_str!("../data/init.yaml");

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml_to_json(text: &str) -> serde_json::Value {
        crate::load::parse_yaml(text, 1 << 20).unwrap()
    }

    #[test]
    fn starter_file_is_valid_against_schema_and_loader() {
        let schema: serde_json::Value = serde_json::from_str(SYSTEM_SCHEMA).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let instance = yaml_to_json(INIT_TEMPLATE);
        let errors: Vec<String> = validator.iter_errors(&instance).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}");
        crate::load::parse_system(INIT_TEMPLATE, crate::load::Limits::default()).unwrap();
    }

    #[test]
    fn schema_rejects_what_the_loader_rejects() {
        let schema: serde_json::Value = serde_json::from_str(SYSTEM_SCHEMA).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        for bad in [
            INIT_TEMPLATE.replace("origin: internal", "origin: hub"),
            INIT_TEMPLATE.replace("exposure: internal", "exposure: everyone"),
            INIT_TEMPLATE.replace("  owner: ml-platform-team", "  ownr: ml-platform-team"),
        ] {
            assert!(!validator.is_valid(&yaml_to_json(&bad)));
            assert!(crate::load::parse_system(&bad, crate::load::Limits::default()).is_err());
        }
    }
}
