//! PII discovery and anonymisation, dataset validation and profiling, poisoning detection.
//! (Being built; see issue 4.)
