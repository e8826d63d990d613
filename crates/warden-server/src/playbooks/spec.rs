//! The playbook format, from `warden_response::playbook` (re-exported here): a YAML document with
//! an `id`, a `name`, a `trigger` (which incidents it answers) and ordered `steps`, parsed
//! strictly and bounded, every problem named with its field path and line.

pub use warden_response::playbook::*;
