//! Decoding the recogniser's per-step probabilities (CTC: symbol 0 is the blank) into text:
//! greedy (best symbol per step, repeats merged, blanks dropped) and length-constrained (the most
//! probable alignment that spells exactly `n` characters). The second is what makes runs of
//! fillers (`<<<<<<`) come out at their true length: a free decoder often drops or adds one.

/// One decoded character: symbol index (1-based, into the alphabet), its probability (the most
/// confident step it spans) and the best other non-blank symbol over those steps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decoded {
    pub symbol: usize,
    pub confidence: f32,
    pub alternative: Option<(usize, f32)>,
}

/// Per-step probabilities over `classes` symbols (0 = blank), row-major.
#[derive(Debug, Clone)]
pub struct Steps {
    pub classes: usize,
    pub probs: Vec<f32>,
}

impl Steps {
    pub fn len(&self) -> usize {
        self.probs.len() / self.classes
    }

    pub fn is_empty(&self) -> bool {
        self.probs.is_empty()
    }

    fn row(&self, t: usize) -> &[f32] {
        &self.probs[t * self.classes..(t + 1) * self.classes]
    }

    /// Describe the characters spanning the steps `frames` (all assigned to `symbol`).
    fn describe(&self, symbol: usize, frames: &[usize]) -> Decoded {
        let mut confidence = 0f32;
        let mut alternative: Option<(usize, f32)> = None;
        for &t in frames {
            let row = self.row(t);
            confidence = confidence.max(row[symbol]);
            for (s, &p) in row.iter().enumerate().skip(1) {
                if s != symbol && alternative.is_none_or(|a| p > a.1) {
                    alternative = Some((s, p));
                }
            }
        }
        Decoded {
            symbol,
            confidence,
            alternative,
        }
    }
}

/// Best symbol per step, repeats merged, blanks dropped.
pub fn greedy(steps: &Steps) -> Vec<Decoded> {
    let mut out = Vec::new();
    let mut run: Vec<usize> = Vec::new();
    let mut prev = 0usize;
    for t in 0..steps.len() {
        let row = steps.row(t);
        let best = (0..steps.classes)
            .max_by(|&a, &b| row[a].total_cmp(&row[b]))
            .unwrap_or(0);
        if best != prev && prev != 0 {
            out.push(steps.describe(prev, &run));
            run.clear();
        }
        if best != 0 {
            run.push(t);
        }
        prev = best;
    }
    if prev != 0 {
        out.push(steps.describe(prev, &run));
    }
    out
}

/// The most probable CTC alignment whose text has exactly `n` characters (Viterbi over
/// step × characters emitted × current symbol). `None` when no alignment fits (fewer steps than
/// the text needs).
pub fn constrained(steps: &Steps, n: usize) -> Option<Vec<Decoded>> {
    let (t_len, c) = (steps.len(), steps.classes);
    if n == 0 || t_len < n {
        return None;
    }
    const NEG: f32 = f32::NEG_INFINITY;
    let log = |p: f32| p.max(1e-12).ln();
    let width = (n + 1) * c;
    // score[k * c + s]: best log-probability with k characters emitted, current step symbol s.
    let mut score = vec![NEG; width];
    // back[t][k * c + s]: the previous step's symbol.
    let mut back = vec![0u8; t_len * width];
    let row0 = steps.row(0);
    score[0] = log(row0[0]);
    for s in 1..c {
        score[c + s] = log(row0[s]);
    }
    let mut next = vec![NEG; width];
    for t in 1..t_len {
        let row = steps.row(t);
        let back_t = &mut back[t * width..(t + 1) * width];
        for k in 0..=n {
            // The best and second-best previous symbols at k-1 (for "a new character").
            let (mut b1, mut b1s, mut b2) = (NEG, 0usize, NEG);
            if k > 0 {
                for s in 0..c {
                    let v = score[(k - 1) * c + s];
                    if v > b1 {
                        b2 = b1;
                        b1 = v;
                        b1s = s;
                    } else if v > b2 {
                        b2 = v;
                    }
                }
            }
            // Blank: from any symbol at the same count.
            let (mut best, mut best_s) = (NEG, 0usize);
            for s in 0..c {
                let v = score[k * c + s];
                if v > best {
                    best = v;
                    best_s = s;
                }
            }
            next[k * c] = best + log(row[0]);
            back_t[k * c] = best_s as u8;
            for s in 1..c {
                // Stay on s (same character), or start s after a blank or another symbol.
                let stay = score[k * c + s];
                // A new character s follows any symbol but s itself (s after s is the same
                // character): the best at k-1, or the runner-up when the best is s.
                let (start, from) = if k == 0 {
                    (NEG, 0)
                } else if b1s == s {
                    (b2, usize::MAX)
                } else {
                    (b1, b1s)
                };
                let from = if from == usize::MAX {
                    // which symbol that runner-up is
                    (0..c)
                        .filter(|&x| x != s)
                        .max_by(|&a, &b| score[(k - 1) * c + a].total_cmp(&score[(k - 1) * c + b]))
                        .unwrap_or(0)
                } else {
                    from
                };
                let (v, prev) = if stay >= start {
                    (stay, s)
                } else {
                    (start, from)
                };
                next[k * c + s] = v + log(row[s]);
                back_t[k * c + s] = prev as u8;
            }
        }
        std::mem::swap(&mut score, &mut next);
    }
    let (mut s, mut best) = (0usize, NEG);
    for x in 0..c {
        if score[n * c + x] > best {
            best = score[n * c + x];
            s = x;
        }
    }
    if best == NEG {
        return None;
    }
    // Walk back: the symbol of every step, then group steps into characters.
    let mut path = vec![0usize; t_len];
    let mut k = n;
    for t in (0..t_len).rev() {
        path[t] = s;
        if t == 0 {
            break;
        }
        let prev = back[t * width + k * c + s] as usize;
        if s != 0 && prev != s {
            k -= 1;
        }
        s = prev;
    }
    let mut out = Vec::with_capacity(n);
    let mut run: Vec<usize> = Vec::new();
    let mut prev = 0usize;
    for (t, &sym) in path.iter().enumerate() {
        if sym != prev && prev != 0 {
            out.push(steps.describe(prev, &run));
            run.clear();
        }
        if sym != 0 {
            run.push(t);
        }
        prev = sym;
    }
    if prev != 0 {
        out.push(steps.describe(prev, &run));
    }
    (out.len() == n).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Steps over 3 classes (blank, A, B) from a per-step favourite with probability 0.8; of
    /// the rest the blank is far likelier (two unlikely blanks beat one unlikely letter), as a
    /// recogniser's blank between characters is.
    fn steps(path: &[usize]) -> Steps {
        let mut probs = Vec::new();
        for &s in path {
            for x in 0..3 {
                probs.push(match x {
                    _ if x == s => 0.8,
                    0 => 0.19,
                    _ => 0.005,
                });
            }
        }
        Steps { classes: 3, probs }
    }

    fn symbols(d: &[Decoded]) -> Vec<usize> {
        d.iter().map(|c| c.symbol).collect()
    }

    #[test]
    fn greedy_merges_repeats_and_drops_blanks() {
        let s = steps(&[1, 1, 0, 1, 2, 2, 0, 0]);
        assert_eq!(symbols(&greedy(&s)), vec![1, 1, 2]);
    }

    #[test]
    fn the_constrained_decoder_finds_the_length_the_greedy_one_misses() {
        // "AAAA" where the model saw two long runs: greedy reads "AA".
        let s = steps(&[1, 1, 1, 0, 1, 1, 1, 0]);
        assert_eq!(symbols(&greedy(&s)), vec![1, 1]);
        let four = constrained(&s, 4).unwrap();
        assert_eq!(symbols(&four), vec![1, 1, 1, 1]);
        // Asked for what greedy read, it agrees.
        assert_eq!(symbols(&constrained(&s, 2).unwrap()), vec![1, 1]);
        let mixed = steps(&[1, 0, 2, 2, 0, 1]);
        assert_eq!(symbols(&constrained(&mixed, 3).unwrap()), vec![1, 2, 1]);
        assert!(constrained(&mixed, 7).is_none());
    }
}
