//! One-to-one assignment of scored pairs, and the choice of a threshold
//! without labelled data.
//!
//! A person appears at most once in each well-kept file, so a record of one
//! side may link to at most one record of the other. Greedy assignment takes
//! pairs from the highest score down and keeps a pair when neither record is
//! taken yet: the solver anonlink uses, and within a few pairs of the optimal
//! assignment when true matches score clearly above everything else.
//!
//! The threshold is chosen from the scores themselves. For every record the
//! best and second-best partner scores are collected: the best is a true
//! match when the person is on both sides, the second best never is. Their
//! histogram is therefore bimodal by construction, and the threshold is put
//! in the valley between the two modes ([`valley_threshold`]). Otsu's method
//! (Otsu, "A threshold selection method from gray-level histograms", IEEE SMC
//! 1979) is kept as well, but it maximises between-class variance and so cuts
//! inside a wide, skewed match mode (on FEBRL4 it lands at 0.875 where the
//! valley is near 0.5); the valley is what [`choose_threshold`] uses. No label
//! is needed either way.

use serde::Serialize;

use crate::similarity::Candidate;

/// A linked pair after assignment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Link {
    /// Index in the first (requester's) batch.
    pub a: u32,
    /// Index in the second (partner's) batch.
    pub b: u32,
    /// Dice similarity.
    pub score: f32,
}

/// Greedy one-to-one assignment of the candidates at or above `threshold`.
/// Ties are broken by the lower indices, so the result is deterministic.
pub fn greedy_assign(candidates: &[Candidate], threshold: f64) -> Vec<Link> {
    let mut sorted: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| f64::from(c.score) >= threshold)
        .collect();
    sorted.sort_by(|x, y| {
        y.score
            .total_cmp(&x.score)
            .then(x.a.cmp(&y.a))
            .then(x.b.cmp(&y.b))
    });
    let max_a = sorted.iter().map(|c| c.a as usize + 1).max().unwrap_or(0);
    let max_b = sorted.iter().map(|c| c.b as usize + 1).max().unwrap_or(0);
    let mut used_a = vec![false; max_a];
    let mut used_b = vec![false; max_b];
    let mut out = Vec::new();
    for c in sorted {
        let (ia, ib) = (c.a as usize, c.b as usize);
        let free_a = used_a.get(ia).is_some_and(|u| !u);
        let free_b = used_b.get(ib).is_some_and(|u| !u);
        if free_a && free_b {
            if let Some(u) = used_a.get_mut(ia) {
                *u = true;
            }
            if let Some(u) = used_b.get_mut(ib) {
                *u = true;
            }
            out.push(Link {
                a: c.a,
                b: c.b,
                score: c.score,
            });
        }
    }
    out
}

/// Otsu's threshold over scores in `[0, 1]`, with `bins` histogram bins.
/// Returns `None` when there are fewer than two distinct bins occupied.
pub fn otsu_threshold(scores: &[f32], bins: usize) -> Option<f64> {
    let bins = bins.max(2);
    let mut hist = vec![0u64; bins];
    for &s in scores {
        let i = ((f64::from(s).clamp(0.0, 1.0)) * bins as f64) as usize;
        if let Some(h) = hist.get_mut(i.min(bins - 1)) {
            *h += 1;
        }
    }
    if hist.iter().filter(|&&h| h > 0).count() < 2 {
        return None;
    }
    let total: u64 = hist.iter().sum();
    let sum_all: f64 = hist
        .iter()
        .enumerate()
        .map(|(i, &h)| i as f64 * h as f64)
        .sum();
    let (mut w0, mut sum0) = (0u64, 0.0f64);
    let mut best = (f64::NEG_INFINITY, 0usize, 0usize);
    for (i, &h) in hist.iter().enumerate() {
        w0 += h;
        sum0 += i as f64 * h as f64;
        let w1 = total - w0;
        if w0 == 0 || w1 == 0 {
            continue;
        }
        let m0 = sum0 / w0 as f64;
        let m1 = (sum_all - sum0) / w1 as f64;
        let between = w0 as f64 * w1 as f64 * (m0 - m1) * (m0 - m1);
        // Equal maxima form a plateau over empty bins: remember its extent
        // and cut in its middle, the centre of the valley.
        if between > best.0 * (1.0 + 1e-12) {
            best = (between, i, i);
        } else if (between - best.0).abs() <= best.0 * 1e-12 {
            best.2 = i;
        }
    }
    let cut = (best.1 + best.2) as f64 / 2.0 + 1.0;
    Some(cut / bins as f64)
}

/// The best and second-best score of every row of the first batch, the
/// sample [`otsu_threshold`] is run on.
pub fn top_two_scores(candidates: &[Candidate]) -> Vec<f32> {
    let rows = candidates
        .iter()
        .map(|c| c.a as usize + 1)
        .max()
        .unwrap_or(0);
    let mut top = vec![(f32::NAN, f32::NAN); rows];
    for c in candidates {
        if let Some(t) = top.get_mut(c.a as usize) {
            if t.0.is_nan() || c.score > t.0 {
                t.1 = t.0;
                t.0 = c.score;
            } else if t.1.is_nan() || c.score > t.1 {
                t.1 = c.score;
            }
        }
    }
    top.into_iter()
        .flat_map(|(x, y)| [x, y])
        .filter(|s| !s.is_nan())
        .collect()
}

/// The valley of a bimodal histogram of scores in `[0, 1]`: the two peaks
/// of the smoothed histogram are found (the highest, then the bin that
/// maximises height × squared distance from it), and the threshold is the
/// middle of the lowest stretch between them. `None` when there is no
/// second peak, the peaks are closer than 0.1, or the valley is not below
/// half the smaller peak (the scores are not bimodal).
pub fn valley_threshold(scores: &[f32], bins: usize) -> Option<f64> {
    let bins = bins.max(10);
    let mut hist = vec![0f64; bins];
    for &s in scores {
        let i = ((f64::from(s).clamp(0.0, 1.0)) * bins as f64) as usize;
        if let Some(h) = hist.get_mut(i.min(bins - 1)) {
            *h += 1.0;
        }
    }
    // Moving average over five bins keeps sampling noise from posing as
    // peaks or valleys.
    let smooth: Vec<f64> = (0..bins)
        .map(|i| {
            let lo = i.saturating_sub(2);
            let hi = (i + 3).min(bins);
            hist.get(lo..hi)
                .map_or(0.0, |w| w.iter().sum::<f64>() / w.len() as f64)
        })
        .collect();
    let argmax = |f: &dyn Fn(usize, f64) -> f64| {
        smooth.iter().enumerate().map(|(i, &h)| (i, f(i, h))).fold(
            (0usize, f64::NEG_INFINITY),
            |b, x| if x.1 > b.1 { x } else { b },
        )
    };
    let (p1, h1) = argmax(&|_, h| h);
    if h1 <= 0.0 {
        return None;
    }
    let (p2, _) = argmax(&|i, h| h * (i as f64 - p1 as f64).powi(2));
    let (lo, hi) = (p1.min(p2), p1.max(p2));
    if hi - lo < bins / 10 {
        return None;
    }
    let between = smooth.get(lo..=hi)?;
    let min = between.iter().copied().fold(f64::INFINITY, f64::min);
    let smaller_peak = smooth.get(lo)?.min(*smooth.get(hi)?);
    if min > 0.5 * smaller_peak {
        return None;
    }
    // The lowest stretch: the bins within a hair of the minimum, first to last.
    let near = |h: f64| h <= min + 1e-9;
    let first = between.iter().position(|&h| near(h))?;
    let last = between.iter().rposition(|&h| near(h))?;
    let centre = lo as f64 + (first + last) as f64 / 2.0 + 0.5;
    Some(centre / bins as f64)
}

/// Best and second-best score of every row that has at least two
/// candidates.
pub fn best_and_second(candidates: &[Candidate]) -> (Vec<f32>, Vec<f32>) {
    let rows = candidates
        .iter()
        .map(|c| c.a as usize + 1)
        .max()
        .unwrap_or(0);
    let mut top = vec![(f32::NAN, f32::NAN); rows];
    for c in candidates {
        if let Some(t) = top.get_mut(c.a as usize) {
            if t.0.is_nan() || c.score > t.0 {
                t.1 = t.0;
                t.0 = c.score;
            } else if t.1.is_nan() || c.score > t.1 {
                t.1 = c.score;
            }
        }
    }
    top.into_iter()
        .filter(|(b, s)| !b.is_nan() && !s.is_nan())
        .unzip()
}

/// Threshold from a two-group model whose null is observed directly.
///
/// A row's second-best score is never its true match, and it is the best of
/// `n - 1` unrelated records, which is how the best score of a row *without*
/// a match is distributed too. So the second-best scores give the null
/// distribution `S0(t)` (share of null scores ≥ t) without labels; beyond the
/// largest null score the share is read from a Gumbel fit (`gumbel_tail`),
/// so that few null scores against many unmatched rows do not promise zero
/// false links (one record in ten matched, 1,000 per side: precision 0.93
/// with the bare share, 0.99–1.00 with the fit). The number
/// `u` of rows whose best is only a null draw is estimated from how many best
/// scores fall below the null median (half of such rows should). The
/// expected errors at threshold `t` are then false links `u·S0(t)` plus
/// missed links `(n - u) - (N(t) - u·S0(t))`, where `N(t)` counts best scores
/// ≥ t; the threshold minimises their sum, `2u·S0(t) - N(t) + const`, and
/// is the middle of the stretch where that sum is within half an error of
/// its minimum.
/// `None` with fewer than 20 rows.
pub fn null_model_threshold(best: &[f32], second: &[f32]) -> Option<f64> {
    if best.len() < 20 || second.len() < 20 {
        return None;
    }
    let mut all_seconds: Vec<f32> = second.to_vec();
    all_seconds.sort_by(f32::total_cmp);
    // The second-best of an unmatched row is the runner-up of n draws, lower
    // than the best of n-1 draws that a matched row's second-best is. Rows
    // whose best clears 99% of all second-best scores are matched almost
    // surely, so their second-best scores are the clean null.
    let q99 = *all_seconds.get((all_seconds.len() - 1) * 99 / 100)?;
    let mut null: Vec<f32> = best
        .iter()
        .zip(second)
        .filter(|(b, _)| **b >= q99)
        .map(|(_, s)| *s)
        .collect();
    if null.len() < 20 {
        null = all_seconds;
    }
    null.sort_by(f32::total_cmp);
    let mut bests: Vec<f32> = best.to_vec();
    bests.sort_by(f32::total_cmp);
    let median = *null.get(null.len() / 2)?;
    let below = bests.partition_point(|&b| b < median) as f64;
    let n = bests.len() as f64;
    let u = (2.0 * below).min(n);
    let at_least = |xs: &[f32], t: f32| (xs.len() - xs.partition_point(|&x| x < t)) as f64;
    let tail = gumbel_tail(&null);
    // Linking below the null median would accept most unrelated records'
    // best partners: never a useful threshold.
    let costs: Vec<(f64, f64)> = (0..=200)
        .filter(|step| *step as f32 * 0.005 >= median)
        .map(|step| {
            let t = step as f32 * 0.005;
            let s0 = (at_least(&null, t) / null.len() as f64).max(tail(f64::from(t)));
            (f64::from(t), 2.0 * u * s0 - at_least(&bests, t))
        })
        .collect();
    let min = costs.iter().map(|c| c.1).fold(f64::INFINITY, f64::min);
    // Where matches and non-matches separate cleanly the cost is flat over
    // the gap between them; the middle of that plateau is the safest cut.
    let tolerance = 0.5f64.max(0.001 * n);
    let first = costs.iter().position(|c| c.1 <= min + tolerance)?;
    let last = costs.iter().rposition(|c| c.1 <= min + tolerance)?;
    let mid = costs.get((first + last) / 2)?;
    Some(mid.0)
}

/// The survival function `P(X ≥ t)` of a Gumbel (maximum) distribution
/// fitted to `sample` by its mean and standard deviation (Gumbel, 1958).
/// The null scores are each the best of many unrelated candidates, the case
/// the Gumbel law describes; the fit extends the sample's tail beyond its
/// largest value, where an empirical share would claim no false links at
/// all — on a small sample against many unmatched rows it does not mean it.
fn gumbel_tail(sample: &[f32]) -> impl Fn(f64) -> f64 {
    let n = sample.len().max(1) as f64;
    let mean = sample.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
    let var = sample
        .iter()
        .map(|&x| (f64::from(x) - mean).powi(2))
        .sum::<f64>()
        / n;
    let beta = (var.sqrt() * 6f64.sqrt() / std::f64::consts::PI).max(1e-6);
    let mu = mean - 0.577_215_664_901_532_9 * beta;
    move |t: f64| 1.0 - (-(-(t - mu) / beta).exp()).exp()
}

/// Chooses a linkage threshold without labels: the two-group model of
/// [`null_model_threshold`] first; the valley of the pooled best and
/// second-best histogram ([`valley_threshold`]) when rows lack a second
/// candidate; `fallback` when neither applies (for example when a floor
/// already removed every non-match).
pub fn choose_threshold(candidates: &[Candidate], fallback: f64) -> f64 {
    let (best, second) = best_and_second(candidates);
    null_model_threshold(&best, &second)
        .or_else(|| valley_threshold(&top_two_scores(candidates), 100))
        .unwrap_or(fallback)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(a: u32, b: u32, score: f32) -> Candidate {
        Candidate { a, b, score }
    }

    #[test]
    fn greedy_takes_best_first_and_is_one_to_one() {
        let cands = [
            c(0, 0, 0.9),
            c(0, 1, 0.95),
            c(1, 1, 0.92),
            c(1, 0, 0.5),
            c(2, 2, 0.4),
        ];
        let links = greedy_assign(&cands, 0.45);
        let pairs: Vec<(u32, u32)> = links.iter().map(|l| (l.a, l.b)).collect();
        // (0,1) wins first; (1,1) is then blocked; (0,0) blocked by a=0;
        // (1,0) at 0.5 is left; (2,2) is below the threshold.
        assert_eq!(pairs, vec![(0, 1), (1, 0)]);
    }

    #[test]
    fn otsu_finds_the_valley() {
        let mut scores = Vec::new();
        for i in 0..1000 {
            scores.push(0.40 + (i % 20) as f32 * 0.005); // non-matches 0.40..0.50
            scores.push(0.85 + (i % 20) as f32 * 0.005); // matches 0.85..0.95
        }
        let t = otsu_threshold(&scores, 200).expect("bimodal");
        assert!(t > 0.5 && t < 0.85, "threshold {t} must fall in the valley");
        // Roughly the middle of the empty gap 0.50..0.85.
        assert!((t - 0.675).abs() < 0.05, "threshold {t}");
        assert_eq!(otsu_threshold(&[0.5, 0.5], 200), None);
        assert_eq!(otsu_threshold(&[], 200), None);
    }

    #[test]
    fn valley_of_skewed_modes() {
        // Non-matches tight around 0.4; matches spread thinly from 0.55 to 1
        // (as on FEBRL): Otsu cuts inside the wide mode, the valley does not.
        let mut scores = Vec::new();
        for i in 0..5000 {
            scores.push(0.36 + (i % 9) as f32 * 0.01);
            scores.push(0.55 + (i % 90) as f32 * 0.005);
        }
        for i in 0..2000 {
            scores.push(0.9 + (i % 10) as f32 * 0.01);
        }
        let v = valley_threshold(&scores, 100).expect("bimodal");
        assert!(v > 0.44 && v < 0.56, "valley {v}");
        // Unimodal scores have no valley.
        let one: Vec<f32> = (0..1000).map(|i| 0.8 + (i % 10) as f32 * 0.01).collect();
        assert_eq!(valley_threshold(&one, 100), None);
        assert_eq!(choose_threshold(&[], 0.6), 0.6);
    }

    #[test]
    fn null_model_threshold_table() {
        // Null (second-best) scores uniform on 0.50..0.70.
        // Scattered so that a row's best and second-best are unrelated.
        let null: Vec<f32> = (0..1000)
            .map(|i| 0.5 + ((i * 7919) % 200) as f32 * 0.001)
            .collect();
        // Every row matched, matches 0.65..1.0: the threshold may sit low,
        // under the null's top, since no row's best is a null draw.
        let matched: Vec<f32> = (0..1000).map(|i| 0.65 + (i % 350) as f32 * 0.001).collect();
        let t = null_model_threshold(&matched, &null).expect("enough rows");
        assert!(t <= 0.65, "all rows matched: {t}");
        // Half the rows unmatched (their best is a null draw): the threshold
        // must clear the null.
        let mut half: Vec<f32> = matched.iter().take(500).copied().collect();
        half.extend(null.iter().take(500));
        let t = null_model_threshold(&half, &null).expect("enough rows");
        assert!((0.68..=0.71).contains(&t), "half unmatched: {t}");
        assert_eq!(null_model_threshold(&[0.9; 5], &[0.5; 5]), None);
    }

    #[test]
    fn top_two_per_row() {
        let cands = [c(0, 0, 0.3), c(0, 1, 0.9), c(0, 2, 0.5), c(2, 0, 0.7)];
        let mut got = top_two_scores(&cands);
        got.sort_by(f32::total_cmp);
        assert_eq!(got, vec![0.5, 0.7, 0.9]);
    }
}
