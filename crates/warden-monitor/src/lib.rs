//! Drift statistics, fairness metrics and streaming detectors for attacks in inference traffic.
//! (Being built; see issue 5.)
