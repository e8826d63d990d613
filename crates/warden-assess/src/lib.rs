//! AI system descriptions, the ATLAS threat catalogue, risk scoring and compliance views.
//! (Being built; see issue 8.)
