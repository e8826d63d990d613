//! Integrity and confidentiality of model artifacts: parallel sharded hashing, OpenSSF Model
//! Signing (OMS) bundles, and age encryption at rest. (Being built; see issue 3.)
