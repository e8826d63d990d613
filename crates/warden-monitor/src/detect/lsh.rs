//! Quantised random projections (p-stable LSH) for near-duplicate detection, and feature hashing
//! that turns text inputs into vectors.

/// `tables` hash functions, each `bits` projections `floor((a.x + b) / w)` with Gaussian `a`.
#[derive(Debug, Clone)]
pub struct Projections {
    dims: usize,
    bits: usize,
    width: f64,
    /// `tables * bits` rows of `dims` weights.
    weights: Vec<f64>,
    offsets: Vec<f64>,
}

/// SplitMix64: small, seeded, reproducible.
pub(crate) fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

pub(crate) fn uniform(state: &mut u64) -> f64 {
    (splitmix(state) >> 11) as f64 / (1u64 << 53) as f64
}

pub(crate) fn gaussian(state: &mut u64) -> f64 {
    let u1 = uniform(state).max(f64::MIN_POSITIVE);
    let u2 = uniform(state);
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

impl Projections {
    /// Draws the projections from `seed`.
    pub fn new(dims: usize, tables: usize, bits: usize, width: f64, seed: u64) -> Self {
        let mut s = seed;
        let weights = (0..tables * bits * dims).map(|_| gaussian(&mut s)).collect();
        let offsets = (0..tables * bits).map(|_| uniform(&mut s) * width).collect();
        Self { dims, bits, width, weights, offsets }
    }

    /// Input dimensions.
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// The bucket of `x` in table `t`.
    pub fn bucket(&self, t: usize, x: &[f64]) -> u64 {
        let mut h = 0xcbf2_9ce4_8422_2325u64 ^ t as u64;
        for b in 0..self.bits {
            let row = (t * self.bits + b) * self.dims;
            let w = &self.weights[row..row + self.dims];
            let dot: f64 = w.iter().zip(x).map(|(a, v)| a * v).sum();
            let q = ((dot + self.offsets[t * self.bits + b]) / self.width).floor() as i64;
            h = (h ^ q as u64).wrapping_mul(0x100_0000_01b3);
        }
        h
    }
}

/// Character-trigram feature hashing into 64 dimensions, L2-normalised.
pub fn text_features(text: &str) -> Vec<f64> {
    const DIMS: usize = 64;
    let mut v = vec![0.0; DIMS];
    let chars: Vec<char> = text.chars().take(100_000).collect();
    for w in chars.windows(3) {
        let h = w.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, c| (h ^ u64::from(*c)).wrapping_mul(0x100_0000_01b3));
        v[(h % DIMS as u64) as usize] += 1.0;
    }
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}
