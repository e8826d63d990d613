//! SCAFFOLD: pickle policy (being written).

/// Which pickle callables are safe, dangerous or unknown.
#[derive(Debug, Clone, Default)]
pub struct Policy {}
