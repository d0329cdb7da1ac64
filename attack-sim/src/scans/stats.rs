//! Two-sample statistics for timing oracles: the Mann-Whitney U test (no assumption about
//! the shape of latency distributions, which are skewed and heavy-tailed), with the normal
//! approximation and the tie correction, and medians.

/// The median of `xs` (0 for none).
pub fn median(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The two-sided p-value of the Mann-Whitney U test that `a` and `b` come from the same
/// distribution (1 when either is empty).
pub fn mann_whitney_p(a: &[f64], b: &[f64]) -> f64 {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    if a.is_empty() || b.is_empty() {
        return 1.0;
    }
    // Ranks of the pooled samples, ties given their average rank.
    let mut pooled: Vec<(f64, bool)> = a
        .iter()
        .map(|&x| (x, true))
        .chain(b.iter().map(|&x| (x, false)))
        .collect();
    pooled.sort_by(|x, y| x.0.total_cmp(&y.0));
    let n = pooled.len();
    let mut rank_sum_a = 0.0;
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && pooled[j + 1].0 == pooled[i].0 {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        let t = (j - i + 1) as f64;
        tie_term += t * t * t - t;
        for p in &pooled[i..=j] {
            if p.1 {
                rank_sum_a += avg_rank;
            }
        }
        i = j + 1;
    }
    let u = rank_sum_a - n1 * (n1 + 1.0) / 2.0;
    let mean = n1 * n2 / 2.0;
    let total = n1 + n2;
    let var = n1 * n2 / 12.0 * ((total + 1.0) - tie_term / (total * (total - 1.0)));
    if var <= 0.0 {
        return 1.0;
    }
    // Continuity correction.
    let z = ((u - mean).abs() - 0.5).max(0.0) / var.sqrt();
    (2.0 * normal_sf(z)).min(1.0)
}

/// P(Z > z) for a standard normal Z (Abramowitz and Stegun 7.1.26, error < 1.5e-7).
fn normal_sf(z: f64) -> f64 {
    let x = z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erfc = poly * (-x * x).exp();
    0.5 * erfc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }

    #[test]
    fn the_normal_tail_is_accurate() {
        assert!((normal_sf(0.0) - 0.5).abs() < 1e-6);
        assert!((normal_sf(1.959_964) - 0.025).abs() < 1e-5);
        assert!((normal_sf(3.290_527) - 0.0005).abs() < 1e-6);
    }

    #[test]
    fn separated_samples_differ_and_shuffled_ones_do_not() {
        let a: Vec<f64> = (0..30).map(|i| 50.0 + f64::from(i % 7)).collect();
        let b: Vec<f64> = (0..30).map(|i| 1.0 + f64::from(i % 5) * 0.1).collect();
        assert!(mann_whitney_p(&a, &b) < 1e-6);
        // Interleaved values from one distribution.
        let c: Vec<f64> = (0..30).map(|i| f64::from((i * 37) % 29)).collect();
        let d: Vec<f64> = (0..30).map(|i| f64::from((i * 23 + 5) % 29)).collect();
        assert!(mann_whitney_p(&c, &d) > 0.2, "{}", mann_whitney_p(&c, &d));
        // All ties: no evidence at all.
        assert_eq!(mann_whitney_p(&[1.0; 5], &[1.0; 5]), 1.0);
        assert_eq!(mann_whitney_p(&[], &[1.0]), 1.0);
        // A known value: U = 0 for 5 vs 5 fully separated, exact p 0.0079; the normal
        // approximation with continuity gives about 0.012.
        let p = mann_whitney_p(&[1.0, 2.0, 3.0, 4.0, 5.0], &[6.0, 7.0, 8.0, 9.0, 10.0]);
        assert!((0.008..0.02).contains(&p), "{p}");
    }
}
