//! Sorting large float columns: an LSD radix sort on order-preserving bit patterns, several times
//! faster than a comparison sort on a million values (the drift hot spot).

/// Sorts `values` ascending in the order of `f64::total_cmp` (NaNs are dropped by callers).
pub fn sort_floats(values: &mut [f64]) {
    if values.len() < 4096 {
        values.sort_unstable_by(f64::total_cmp);
        return;
    }
    // Map each float to a u64 whose unsigned order is total_cmp's order.
    let mut keys: Vec<u64> = values
        .iter()
        .map(|v| {
            let b = v.to_bits();
            if b >> 63 == 1 { !b } else { b | (1 << 63) }
        })
        .collect();
    // Eight passes of 8-bit digits: 256 buckets stay in L1, and all histograms take one pass.
    let mut hist = vec![[0usize; 256]; 8];
    for k in &keys {
        for (d, h) in hist.iter_mut().enumerate() {
            h[((k >> (8 * d)) & 0xff) as usize] += 1;
        }
    }
    let mut buf = vec![0u64; keys.len()];
    for (d, h) in hist.iter().enumerate() {
        // Skip a pass where every key has the same digit.
        if h.contains(&keys.len()) {
            continue;
        }
        let mut offsets = [0usize; 256];
        let mut sum = 0;
        for (o, &c) in offsets.iter_mut().zip(h.iter()) {
            *o = sum;
            sum += c;
        }
        let shift = 8 * d;
        for &k in &keys {
            let b = ((k >> shift) & 0xff) as usize;
            buf[offsets[b]] = k;
            offsets[b] += 1;
        }
        std::mem::swap(&mut keys, &mut buf);
    }
    for (v, k) in values.iter_mut().zip(keys) {
        let b = if k >> 63 == 1 { k & !(1 << 63) } else { !k };
        *v = f64::from_bits(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radix_sort_matches_comparison_sort() {
        let mut s = 12345u64;
        let mut v: Vec<f64> = (0..50_000)
            .map(|i| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let x = (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                if i % 7 == 0 { -x * 1e9 } else if i % 11 == 0 { 0.0 } else { x * 1e-3 }
            })
            .collect();
        v.push(-0.0);
        v.push(f64::INFINITY);
        v.push(f64::NEG_INFINITY);
        let mut expected = v.clone();
        expected.sort_by(f64::total_cmp);
        sort_floats(&mut v);
        assert_eq!(v.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), expected.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
    }
}
