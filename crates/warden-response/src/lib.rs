//! Incident response as data: the incident rules that decide which findings open an incident
//! ([`rules`]) and the playbook documents that say how to answer one ([`playbook`]), with the glob
//! matcher both use. Both are YAML written by people (operators, administrators through the API),
//! so parsing is strict and bounded and every problem is named; nothing here does I/O, which
//! keeps the parsers fuzzable on their own. The server stores, runs and shows them.

pub mod glob;
pub mod playbook;
pub mod rules;
