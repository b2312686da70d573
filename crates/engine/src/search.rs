//! Exact 1:N search over face embeddings: the index behind blacklist collections.
//!
//! [`FlatIndex`] keeps every enrolled embedding, L2-normalised, in **one contiguous row-major
//! matrix** (`rows × dim` `f32`s) with a parallel vector of ids and an id → row map, so that
//! - [`FlatIndex::add`] appends a row (or overwrites the row of an id already present);
//! - [`FlatIndex::remove`] is O(1): the last row is moved into the hole (swap-remove);
//! - [`FlatIndex::search`] streams the matrix once, scoring blocks of rows with a SIMD dot product
//!   and keeping the best `k` in a small heap. With normalised rows and query the dot product is
//!   the cosine similarity, the same number [`crate::Engine::compare`] reports.
//!
//! The dot product is dispatched at run time ([`Kernel::detect`]): AVX2 + FMA through
//! `std::arch` when the CPU has them (every x86-64 server of the last decade), otherwise a
//! portable 8-lane loop the compiler vectorises for the baseline target (SSE2, NEON). Both sum in
//! a different order than a naive loop, so scores agree with it to ~1e-6, not bit for bit.
//!
//! # Cost, and where an approximate index would take over
//!
//! An exact scan reads every enrolled vector once per query: `N × dim × 4` bytes (2 KiB a face
//! for the 512-d embedder). With the AVX2 kernel it runs at the memory bus's speed from a few
//! thousand faces on, so its time is linear in N. Measured by `benches/search.rs` (top 10, one
//! 2-core Xeon VM, dev profile; mean of criterion's samples):
//!
//! | faces | matrix | AVX2, 1 thread | AVX2, 2 threads | naive scalar loop | naive / AVX2 (1 thread) |
//! |---|---|---|---|---|---|
//! | 10k | 20 MB | 0.77 ms | 0.53 ms | 2.39 ms | 3.1× |
//! | 100k | 205 MB | 16.7 ms | 7.6 ms | 53.3 ms | 3.2× |
//! | 1M | 2.0 GB | 147 ms | 83 ms | 576 ms | 3.9× |
//!
//! (in cache the kernel alone is 9.5× the naive loop: 24 ns against 229 ns per 512-d product;
//! from 10k faces on, memory bandwidth — ~14 GB/s for one core here — is the limit.)
//!
//! The budget: one blacklist check already spends ~100 ms of CPU decoding, detecting and
//! embedding the photo, and Oz sizes an analysis at ~3 s. An exact search that stays under
//! ~50 ms — a few hundred thousand faces per core, the size of any one company's blacklist we
//! expect — is noise next to that and never misses a match. At ~1M faces it costs 80–150 ms and
//! 2 GB of RAM per process, still workable; past that, or when many searches run at once and
//! share the memory bus, an approximate index pays: HNSW (a graph; ~1 ms at 10M faces with
//! over 95 % recall at k=10, but 1.5–2× the memory and costly deletes) or IVF-PQ (coarse clusters
//! plus product-quantised codes; 16–32× less memory, recall tuned by `nprobe`). Approximate
//! search can miss the true nearest face — for a blacklist, a missed match — so it should come
//! only when N makes the exact scan too slow, with its recall measured on real embeddings. A
//! cheaper step first: `f16` or `int8` rows halve or quarter the bytes read per query (so the
//! time) at a score error far below the decision margin.
//!
//! # Half precision
//!
//! [`Precision::F16`] stores rows as IEEE binary16 (the query stays `f32`; rows are widened in
//! registers by F16C): half the memory and half the bytes read, so about half the time of a
//! memory-bound scan. The score error this costs is bounded and far below any decision margin
//! (see [`Precision::F16`]); `tests/engine/index_f16.rs` checks that top-10 lists on real embeddings are
//! those of `f32` (693 of 700 lists identical, the 7 others differ only by swaps of faces whose
//! `f32` scores are closer than `f16` rounding can resolve; largest score error 8.9e-5), and
//! `benches/search.rs` measures both in the same run. 1M random 128-d unit vectors, top 10, on
//! this 2-core VM **while other builds and tests shared it** (load average 5–8: absolute times
//! inflated several fold, and noisy): matrix 488 → 244 MiB (0.50×) exactly; time f16 ÷ f32 of
//! the same run 0.66× (1 thread, 146 → 97 ms) and 0.58× (2 threads, 140 → 80 ms) in one run,
//! 0.91× and 0.93× in a second, more loaded one (where 2 threads were no faster than 1); same
//! top 10 in both. A later run (2026-11-27, load average 4–7 from two other builds, criterion
//! median of 10 samples, `FACEPROOF_BENCH_SIZES=1000000`): f32 36.3 ms on 1 thread, f16
//! **17.1 ms** on 1 thread (0.47× the f32 of the same run) and 25 ms (criterion) to 49 ms (summary
//! run) on 2 threads, which fight the other builds for the cores; same top 10. So 1M faces search
//! in ≤ 50 ms on this machine in `f16` even while it is shared — on one core.
//!
//! The server keeps one `FlatIndex` per collection (a search names its collections), so the
//! optional `filter` is for finer restrictions and costs nothing for rows below the threshold.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::hash::Hash;

/// Why an embedding was not added.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IndexError {
    #[error("embedding has {got} dimensions, the index {expected}")]
    Dimension { expected: usize, got: usize },
    #[error("embedding is zero or not finite")]
    NotNormalisable,
}

/// One search result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit<Id> {
    pub id: Id,
    /// Cosine similarity in [-1, 1].
    pub similarity: f32,
}

/// How an index stores its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// 4 bytes a value: scores exact to the `f32` kernel's ~1e-6.
    #[default]
    F32,
    /// IEEE binary16, 2 bytes a value: half the memory and half the bytes read per query (an
    /// exact scan is bound by memory bandwidth, so about half the time). A unit-vector component
    /// is rounded to 11 significant bits (relative error ≤ 2⁻¹¹), so a score moves by at most
    /// `2⁻¹¹ · Σ|qᵢ·xᵢ|` ≤ 4.9e-4 (Cauchy–Schwarz), typically a few 1e-5 — far below the gap
    /// between a match and a non-match, and measured not to change top-10 lists on real faces
    /// (`tests/engine/index_f16.rs`). The query stays `f32`; rows are widened in registers (F16C).
    F16,
}

impl Precision {
    /// Bytes per stored value.
    pub fn bytes(self) -> usize {
        match self {
            Precision::F32 => 4,
            Precision::F16 => 2,
        }
    }
}

/// The dot-product implementation in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// x86-64 AVX2 with fused multiply-add (and F16C for half-precision rows), 32 floats per
    /// step.
    Avx2Fma,
    /// Portable 8-lane loop (vectorised by the compiler for the build target).
    Portable,
}

impl Kernel {
    /// The best kernel this CPU runs.
    pub fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2")
                && std::is_x86_feature_detected!("fma")
                && std::is_x86_feature_detected!("f16c")
            {
                return Kernel::Avx2Fma;
            }
        }
        Kernel::Portable
    }

    pub fn name(self) -> &'static str {
        match self {
            Kernel::Avx2Fma => "avx2+fma",
            Kernel::Portable => "portable",
        }
    }

    /// Dot product of two equally long slices.
    pub fn dot(self, a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len(), "dot of slices of different lengths");
        match self {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Avx2Fma` is only produced by `detect` after checking the CPU features.
            Kernel::Avx2Fma => unsafe { avx2::dot(a, b) },
            _ => dot_portable(a, b),
        }
    }

    /// `out[i] = query · rows[i·dim .. (i+1)·dim]`.
    fn score_rows(self, query: &[f32], rows: &[f32], out: &mut [f32]) {
        let dim = query.len();
        debug_assert_eq!(rows.len(), dim * out.len());
        match self {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as in `dot`; lengths are checked by the chunking below.
            Kernel::Avx2Fma => unsafe { avx2::score_rows(query, rows, out) },
            _ => {
                for (row, o) in rows.chunks_exact(dim).zip(out.iter_mut()) {
                    *o = dot_portable(query, row);
                }
            }
        }
    }

    /// Dot product of an `f32` vector with a row of binary16 bit patterns.
    pub fn dot_f16(self, a: &[f32], b: &[u16]) -> f32 {
        assert_eq!(a.len(), b.len(), "dot of slices of different lengths");
        match self {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Avx2Fma` is only produced by `detect` after checking AVX2, FMA and F16C.
            Kernel::Avx2Fma => unsafe { avx2::dot_f16(a, b) },
            _ => dot_portable_f16(a, b),
        }
    }

    /// `out[i] = query · rows[i·dim .. (i+1)·dim]` over binary16 rows.
    fn score_rows_f16(self, query: &[f32], rows: &[u16], out: &mut [f32]) {
        let dim = query.len();
        debug_assert_eq!(rows.len(), dim * out.len());
        for (row, o) in rows.chunks_exact(dim).zip(out.iter_mut()) {
            *o = self.dot_f16(query, row);
        }
    }
}

/// Portable `f32 · f16` dot product: rows widened with `half` (in software unless the build
/// target has F16C), summed as in [`dot_portable`].
pub fn dot_portable_f16(a: &[f32], b: &[u16]) -> f32 {
    const LANES: usize = 16;
    let n = a.len().min(b.len());
    let mut acc = [0.0f32; LANES];
    let mut i = 0;
    while i + LANES <= n {
        for j in 0..LANES {
            acc[j] += a[i + j] * half::f16::from_bits(b[i + j]).to_f32();
        }
        i += LANES;
    }
    let tail: f32 = (i..n)
        .map(|k| a[k] * half::f16::from_bits(b[k]).to_f32())
        .sum();
    acc.iter().sum::<f32>() + tail
}

/// Portable dot product: 32 independent partial sums (so the compiler may vectorise the loop
/// without reassociating a single sum, and the additions do not wait on each other), then the
/// tail.
#[inline]
pub fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 32;
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; LANES];
    let chunks_a = a.chunks_exact(LANES);
    let chunks_b = b.chunks_exact(LANES);
    let tail: f32 = chunks_a
        .remainder()
        .iter()
        .zip(chunks_b.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in chunks_a.zip(chunks_b) {
        let x: &[f32; LANES] = x.try_into().expect("a full chunk");
        let y: &[f32; LANES] = y.try_into().expect("a full chunk");
        for j in 0..LANES {
            acc[j] += x[j] * y[j];
        }
    }
    // pairwise, so the reduction vectorises too
    let mut width = LANES / 2;
    while width > 0 {
        for j in 0..width {
            acc[j] += acc[j + width];
        }
        width /= 2;
    }
    acc[0] + tail
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// Eight floats as a vector register. Not `_mm256_loadu_ps`: that is written as a
    /// `copy_nonoverlapping` whose precondition checks run in builds with debug assertions (the
    /// dev and test profiles) and made this loop 5× slower there; a by-value array is the same
    /// single unaligned load without them.
    #[inline(always)]
    fn load8(v: &[f32]) -> __m256 {
        let v: [f32; 8] = v.try_into().expect("8 floats");
        // SAFETY: [f32; 8] and __m256 are both 32 bytes of plain floats.
        unsafe { std::mem::transmute::<[f32; 8], __m256>(v) }
    }

    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (a, b) = (&a[..n], &b[..n]);
        let mut acc0 = _mm256_setzero_ps();
        let mut acc1 = _mm256_setzero_ps();
        let mut acc2 = _mm256_setzero_ps();
        let mut acc3 = _mm256_setzero_ps();
        let mut ca = a.chunks_exact(32);
        let mut cb = b.chunks_exact(32);
        for (x, y) in ca.by_ref().zip(cb.by_ref()) {
            let x: &[f32; 32] = x.try_into().expect("32 floats");
            let y: &[f32; 32] = y.try_into().expect("32 floats");
            acc0 = _mm256_fmadd_ps(load8(&x[0..8]), load8(&y[0..8]), acc0);
            acc1 = _mm256_fmadd_ps(load8(&x[8..16]), load8(&y[8..16]), acc1);
            acc2 = _mm256_fmadd_ps(load8(&x[16..24]), load8(&y[16..24]), acc2);
            acc3 = _mm256_fmadd_ps(load8(&x[24..32]), load8(&y[24..32]), acc3);
        }
        let mut c8a = ca.remainder().chunks_exact(8);
        let mut c8b = cb.remainder().chunks_exact(8);
        for (x, y) in c8a.by_ref().zip(c8b.by_ref()) {
            acc0 = _mm256_fmadd_ps(load8(x), load8(y), acc0);
        }
        let sum = _mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3));
        let lo = _mm256_castps256_ps128(sum);
        let hi = _mm256_extractf128_ps(sum, 1);
        let s = _mm_add_ps(lo, hi);
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 0b01));
        let tail: f32 = c8a
            .remainder()
            .iter()
            .zip(c8b.remainder())
            .map(|(x, y)| x * y)
            .sum();
        _mm_cvtss_f32(s) + tail
    }

    /// Eight binary16 values widened to floats.
    ///
    /// # Safety
    /// The CPU must support F16C.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn load8h(v: &[u16]) -> __m256 {
        let v: [u16; 8] = v.try_into().expect("8 halves");
        // SAFETY: [u16; 8] and __m128i are both 16 bytes of plain integers.
        _mm256_cvtph_ps(unsafe { std::mem::transmute::<[u16; 8], __m128i>(v) })
    }

    /// # Safety
    /// The CPU must support AVX2, FMA and F16C.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn dot_f16(a: &[f32], b: &[u16]) -> f32 {
        let n = a.len().min(b.len());
        let (a, b) = (&a[..n], &b[..n]);
        let mut acc0 = _mm256_setzero_ps();
        let mut acc1 = _mm256_setzero_ps();
        let mut acc2 = _mm256_setzero_ps();
        let mut acc3 = _mm256_setzero_ps();
        let mut ca = a.chunks_exact(32);
        let mut cb = b.chunks_exact(32);
        for (x, y) in ca.by_ref().zip(cb.by_ref()) {
            let x: &[f32; 32] = x.try_into().expect("32 floats");
            let y: &[u16; 32] = y.try_into().expect("32 halves");
            acc0 = _mm256_fmadd_ps(load8(&x[0..8]), load8h(&y[0..8]), acc0);
            acc1 = _mm256_fmadd_ps(load8(&x[8..16]), load8h(&y[8..16]), acc1);
            acc2 = _mm256_fmadd_ps(load8(&x[16..24]), load8h(&y[16..24]), acc2);
            acc3 = _mm256_fmadd_ps(load8(&x[24..32]), load8h(&y[24..32]), acc3);
        }
        let mut c8a = ca.remainder().chunks_exact(8);
        let mut c8b = cb.remainder().chunks_exact(8);
        for (x, y) in c8a.by_ref().zip(c8b.by_ref()) {
            acc0 = _mm256_fmadd_ps(load8(x), load8h(y), acc0);
        }
        let sum = _mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3));
        let lo = _mm256_castps256_ps128(sum);
        let hi = _mm256_extractf128_ps(sum, 1);
        let s = _mm_add_ps(lo, hi);
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 0b01));
        let tail: f32 = c8a
            .remainder()
            .iter()
            .zip(c8b.remainder())
            .map(|(x, y)| x * half::f16::from_bits(*y).to_f32())
            .sum();
        _mm_cvtss_f32(s) + tail
    }

    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn score_rows(query: &[f32], rows: &[f32], out: &mut [f32]) {
        let dim = query.len();
        for (row, o) in rows.chunks_exact(dim).zip(out.iter_mut()) {
            *o = dot(query, row);
        }
    }
}

/// Rows scored per block before selection: the scores stay in a stack buffer in L1.
const BLOCK_ROWS: usize = 256;

/// A candidate in the top-k heap, ordered so that the heap's top is the worst kept hit.
#[derive(Clone, Copy)]
struct Candidate {
    similarity: f32,
    row: usize,
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Candidate {}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Candidate {
    /// "Greater" = worse: lower similarity, then later row.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .similarity
            .total_cmp(&self.similarity)
            .then(self.row.cmp(&other.row))
    }
}

/// An exact nearest-neighbour index over L2-normalised embeddings (see the module doc).
#[derive(Debug, Clone)]
pub struct FlatIndex<Id> {
    dim: usize,
    kernel: Kernel,
    precision: Precision,
    /// `ids.len() × dim` floats, row-major ([`Precision::F32`]; empty otherwise).
    data: Vec<f32>,
    /// `ids.len() × dim` binary16 bit patterns, row-major ([`Precision::F16`]; empty otherwise).
    half: Vec<u16>,
    ids: Vec<Id>,
    rows: HashMap<Id, usize>,
}

impl<Id: Copy + Eq + Hash> FlatIndex<Id> {
    pub fn new(dim: usize) -> Self {
        Self::with_capacity(dim, 0)
    }

    pub fn with_capacity(dim: usize, capacity: usize) -> Self {
        assert!(dim > 0, "an index needs a dimension");
        FlatIndex {
            dim,
            kernel: Kernel::detect(),
            precision: Precision::F32,
            data: Vec::with_capacity(capacity * dim),
            half: Vec::new(),
            ids: Vec::with_capacity(capacity),
            rows: HashMap::with_capacity(capacity),
        }
    }

    /// Force a kernel (tests and benchmarks compare them).
    pub fn with_kernel(mut self, kernel: Kernel) -> Self {
        self.kernel = kernel;
        self
    }

    /// Store rows at `precision` (on an empty index: rows are not converted).
    pub fn with_precision(mut self, precision: Precision) -> Self {
        assert!(self.is_empty(), "the precision of a non-empty index");
        if precision != self.precision {
            let capacity = self.data.capacity().max(self.half.capacity());
            self.precision = precision;
            self.data = Vec::new();
            self.half = Vec::new();
            match precision {
                Precision::F32 => self.data.reserve(capacity),
                Precision::F16 => self.half.reserve(capacity),
            }
        }
        self
    }

    pub fn precision(&self) -> Precision {
        self.precision
    }

    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn contains(&self, id: &Id) -> bool {
        self.rows.contains_key(id)
    }

    /// The ids, in row order (which changes on removal).
    pub fn ids(&self) -> &[Id] {
        &self.ids
    }

    /// The stored (normalised, and at [`Precision::F16`] rounded) embedding of `id`.
    pub fn get(&self, id: &Id) -> Option<Vec<f32>> {
        let r = *self.rows.get(id)?;
        let span = r * self.dim..(r + 1) * self.dim;
        Some(match self.precision {
            Precision::F32 => self.data[span].to_vec(),
            Precision::F16 => self.half[span]
                .iter()
                .map(|b| half::f16::from_bits(*b).to_f32())
                .collect(),
        })
    }

    /// The whole `len() × dim()` row-major matrix (row `i` belongs to `ids()[i]`) of an
    /// [`Precision::F32`] index; empty at another precision.
    pub fn matrix(&self) -> &[f32] {
        &self.data
    }

    /// Bytes held by the embedding matrix.
    pub fn matrix_bytes(&self) -> usize {
        self.data.len() * std::mem::size_of::<f32>() + self.half.len() * 2
    }

    /// Add `embedding` under `id` (normalised on the way in); an id already present is
    /// overwritten in place.
    pub fn add(&mut self, id: Id, embedding: &[f32]) -> Result<(), IndexError> {
        if embedding.len() != self.dim {
            return Err(IndexError::Dimension {
                expected: self.dim,
                got: embedding.len(),
            });
        }
        let norm = self.kernel.dot(embedding, embedding).sqrt();
        if !norm.is_finite() || norm <= f32::EPSILON {
            return Err(IndexError::NotNormalisable);
        }
        let scale = 1.0 / norm;
        let row = match self.rows.get(&id) {
            Some(&r) => r,
            None => {
                let r = self.ids.len();
                self.rows.insert(id, r);
                self.ids.push(id);
                match self.precision {
                    Precision::F32 => self.data.resize((r + 1) * self.dim, 0.0),
                    Precision::F16 => self.half.resize((r + 1) * self.dim, 0),
                }
                r
            }
        };
        let span = row * self.dim..(row + 1) * self.dim;
        match self.precision {
            Precision::F32 => {
                for (dst, src) in self.data[span].iter_mut().zip(embedding) {
                    *dst = src * scale;
                }
            }
            Precision::F16 => {
                for (dst, src) in self.half[span].iter_mut().zip(embedding) {
                    *dst = half::f16::from_f32(src * scale).to_bits();
                }
            }
        }
        Ok(())
    }

    /// Remove `id` in O(1) by moving the last row into its place; `false` when absent.
    pub fn remove(&mut self, id: &Id) -> bool {
        let Some(row) = self.rows.remove(id) else {
            return false;
        };
        let last = self.ids.len() - 1;
        if row != last {
            let moved = self.ids[last];
            let from = last * self.dim..(last + 1) * self.dim;
            match self.precision {
                Precision::F32 => self.data.copy_within(from, row * self.dim),
                Precision::F16 => self.half.copy_within(from, row * self.dim),
            }
            self.ids[row] = moved;
            self.rows.insert(moved, row);
        }
        self.ids.pop();
        self.data.truncate(last * self.dim);
        self.half.truncate(last * self.dim);
        true
    }

    /// Keep only the ids for which `keep` is true; returns how many were removed.
    pub fn retain(&mut self, mut keep: impl FnMut(&Id) -> bool) -> usize {
        let gone: Vec<Id> = self.ids.iter().filter(|id| !keep(id)).copied().collect();
        for id in &gone {
            self.remove(id);
        }
        gone.len()
    }

    pub fn clear(&mut self) {
        self.data.clear();
        self.half.clear();
        self.ids.clear();
        self.rows.clear();
    }

    /// The at most `k` rows most similar to `query` with similarity ≥ `min_similarity` and
    /// `filter(id)` true, best first (ties: earlier row first). The query is normalised here;
    /// a query of the wrong dimension, or zero, finds nothing.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        min_similarity: f32,
        filter: impl Fn(&Id) -> bool,
    ) -> Vec<Hit<Id>> {
        let Some(q) = self.normalised_query(query) else {
            return Vec::new();
        };
        if k == 0 {
            return Vec::new();
        }
        let heap = self.scan(&q, 0..self.len(), k, min_similarity, &filter);
        self.finish(heap.into_vec(), k)
    }

    /// [`search`](Self::search) with the rows split among `threads` scoped threads (worth it
    /// from some 10k rows on, ~2× at 100k on two cores; below, the spawn costs more than it
    /// saves).
    pub fn search_parallel(
        &self,
        query: &[f32],
        k: usize,
        min_similarity: f32,
        filter: impl Fn(&Id) -> bool + Sync,
        threads: usize,
    ) -> Vec<Hit<Id>>
    where
        Id: Sync,
    {
        let threads = threads.clamp(1, self.len().div_ceil(BLOCK_ROWS).max(1));
        if threads == 1 {
            return self.search(query, k, min_similarity, filter);
        }
        let Some(q) = self.normalised_query(query) else {
            return Vec::new();
        };
        if k == 0 {
            return Vec::new();
        }
        let per = self.len().div_ceil(threads);
        let filter = &filter;
        let q = &q;
        let mut all = Vec::with_capacity(threads * k);
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let range = (t * per).min(self.len())..((t + 1) * per).min(self.len());
                    s.spawn(move || self.scan(q, range, k, min_similarity, filter))
                })
                .collect();
            for h in handles {
                all.extend(h.join().expect("search thread panicked").into_vec());
            }
        });
        self.finish(all, k)
    }

    fn normalised_query(&self, query: &[f32]) -> Option<Vec<f32>> {
        if query.len() != self.dim {
            return None;
        }
        let norm = self.kernel.dot(query, query).sqrt();
        if !norm.is_finite() || norm <= f32::EPSILON {
            return None;
        }
        Some(query.iter().map(|v| v / norm).collect())
    }

    fn scan(
        &self,
        q: &[f32],
        rows: std::ops::Range<usize>,
        k: usize,
        min_similarity: f32,
        filter: &impl Fn(&Id) -> bool,
    ) -> BinaryHeap<Candidate> {
        let mut heap: BinaryHeap<Candidate> = BinaryHeap::with_capacity(k + 1);
        let mut scores = [0.0f32; BLOCK_ROWS];
        let mut start = rows.start;
        while start < rows.end {
            let end = (start + BLOCK_ROWS).min(rows.end);
            let out = &mut scores[..end - start];
            let span = start * self.dim..end * self.dim;
            match self.precision {
                Precision::F32 => self.kernel.score_rows(q, &self.data[span], out),
                Precision::F16 => self.kernel.score_rows_f16(q, &self.half[span], out),
            }
            for (i, &similarity) in out.iter().enumerate() {
                let bar = match heap.peek() {
                    Some(worst) if heap.len() == k => worst.similarity.max(min_similarity),
                    _ => min_similarity,
                };
                if similarity.is_nan() || similarity < bar {
                    continue;
                }
                let row = start + i;
                if heap.len() == k && similarity == bar && heap.peek().is_some_and(|w| w.row < row)
                {
                    continue; // a tie with the worst kept: the earlier row wins
                }
                if !filter(&self.ids[row]) {
                    continue;
                }
                heap.push(Candidate { similarity, row });
                if heap.len() > k {
                    heap.pop();
                }
            }
            start = end;
        }
        heap
    }

    fn finish(&self, mut candidates: Vec<Candidate>, k: usize) -> Vec<Hit<Id>> {
        candidates.sort_unstable(); // best first (see `Candidate::cmp`)
        candidates.truncate(k);
        candidates
            .into_iter()
            .map(|c| Hit {
                id: self.ids[c.row],
                similarity: c.similarity,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64*: deterministic test vectors without a dependency.
    struct Rng(u64);
    impl Rng {
        fn next_f32(&mut self) -> f32 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
            ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        }
        fn vector(&mut self, dim: usize) -> Vec<f32> {
            let v: Vec<f32> = (0..dim).map(|_| self.next_f32()).collect();
            let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.into_iter().map(|x| x / n).collect()
        }
    }

    fn naive(rows: &[(u32, Vec<f32>)], q: &[f32], k: usize, min: f32) -> Vec<(u32, f32)> {
        let mut all: Vec<(u32, f32)> = rows
            .iter()
            .map(|(id, v)| (*id, v.iter().zip(q).map(|(a, b)| a * b).sum::<f32>()))
            .filter(|(_, s)| *s >= min)
            .collect();
        all.sort_by(|a, b| b.1.total_cmp(&a.1));
        all.truncate(k);
        all
    }

    fn kernels() -> Vec<Kernel> {
        let mut k = vec![Kernel::Portable];
        if Kernel::detect() != Kernel::Portable {
            k.push(Kernel::detect());
        }
        k
    }

    #[test]
    fn kernels_agree_with_a_plain_loop() {
        let mut rng = Rng(7);
        for dim in [1, 7, 8, 31, 33, 512, 515] {
            let a: Vec<f32> = (0..dim).map(|_| rng.next_f32()).collect();
            let b: Vec<f32> = (0..dim).map(|_| rng.next_f32()).collect();
            let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            for k in kernels() {
                assert!((k.dot(&a, &b) - plain).abs() < 1e-4, "{k:?} dim {dim}");
            }
        }
    }

    #[test]
    fn search_is_exact() {
        let dim = 512;
        let mut rng = Rng(42);
        let rows: Vec<(u32, Vec<f32>)> = (0..3000).map(|i| (i, rng.vector(dim))).collect();
        for kernel in kernels() {
            let mut index = FlatIndex::new(dim).with_kernel(kernel);
            for (id, v) in &rows {
                index.add(*id, v).unwrap();
            }
            for _ in 0..5 {
                // a query near a known row, so there are hits above a threshold too
                let base = &rows[(rng.next_f32().abs() * 2999.0) as usize].1;
                let noise = rng.vector(dim);
                let q: Vec<f32> = base.iter().zip(&noise).map(|(a, b)| a + 0.5 * b).collect();
                let qn = {
                    let n = q.iter().map(|x| x * x).sum::<f32>().sqrt();
                    q.iter().map(|x| x / n).collect::<Vec<_>>()
                };
                for (k, min) in [(1, -1.0), (10, -1.0), (50, 0.05), (5, 0.5), (3000, -1.0)] {
                    let want = naive(&rows, &qn, k, min);
                    let got = index.search(&q, k, min, |_| true);
                    assert_eq!(got.len(), want.len(), "{kernel:?} k={k} min={min}");
                    for (g, w) in got.iter().zip(&want) {
                        assert!((g.similarity - w.1).abs() < 1e-5);
                    }
                    // The same ids, except where two scores are closer than the rounding
                    // difference of the kernels: each id's own (naive) score must sit where the
                    // naive ranking has that score, and no id may repeat.
                    let exact: HashMap<u32, f32> =
                        naive(&rows, &qn, usize::MAX, -2.0).into_iter().collect();
                    for (g, w) in got.iter().zip(&want) {
                        assert!((exact[&g.id] - w.1).abs() < 1e-5, "{kernel:?} k={k}");
                    }
                    let mut ids: Vec<u32> = got.iter().map(|h| h.id).collect();
                    ids.sort_unstable();
                    ids.dedup();
                    assert_eq!(ids.len(), got.len());
                    if k <= 50 {
                        // few, well separated scores: exactly the naive order
                        let want_ids: Vec<u32> = want.iter().map(|w| w.0).collect();
                        let got_ids: Vec<u32> = got.iter().map(|h| h.id).collect();
                        assert_eq!(got_ids, want_ids, "{kernel:?} k={k} min={min}");
                    }
                    let par = index.search_parallel(&q, k, min, |_| true, 3);
                    assert_eq!(par, got);
                }
            }
        }
    }

    #[test]
    fn results_are_best_first_and_respect_threshold_and_filter() {
        let mut rng = Rng(3);
        let mut index = FlatIndex::new(64);
        let q = rng.vector(64);
        for i in 0..500u32 {
            index.add(i, &rng.vector(64)).unwrap();
        }
        index.add(1000, &q).unwrap();
        let hits = index.search(&q, 20, 0.1, |id| id % 2 == 0);
        assert_eq!(hits[0].id, 1000);
        assert!((hits[0].similarity - 1.0).abs() < 1e-5);
        assert!(hits.windows(2).all(|w| w[0].similarity >= w[1].similarity));
        assert!(hits.iter().all(|h| h.similarity >= 0.1 && h.id % 2 == 0));
        assert!(index.search(&q, 0, -1.0, |_| true).is_empty());
        assert!(index.search(&q[..10], 5, -1.0, |_| true).is_empty());
        assert!(index.search(&vec![0.0; 64], 5, -1.0, |_| true).is_empty());
    }

    #[test]
    fn removal_swaps_and_keeps_the_map_right() {
        let mut rng = Rng(9);
        let dim = 16;
        let vs: Vec<Vec<f32>> = (0..100).map(|_| rng.vector(dim)).collect();
        let mut index = FlatIndex::new(dim);
        for (i, v) in vs.iter().enumerate() {
            index.add(i as u32, v).unwrap();
        }
        assert!(index.remove(&0)); // the last row moves into row 0
        assert!(!index.remove(&0));
        assert!(index.remove(&99)); // removing the (new) last row
        assert!(index.remove(&50));
        assert_eq!(index.len(), 97);
        assert_eq!(index.matrix_bytes(), 97 * dim * 4);
        for (i, v) in vs.iter().enumerate() {
            let i = i as u32;
            if [0, 50, 99].contains(&i) {
                assert!(index.get(&i).is_none());
                assert!(index.search(v, 1, 0.999, |_| true).is_empty());
            } else {
                let got = index.get(&i).unwrap();
                assert!(got.iter().zip(v).all(|(a, b)| (a - b).abs() < 1e-6));
                assert_eq!(index.search(v, 1, -1.0, |_| true)[0].id, i);
            }
        }
        // overwrite in place, then retain
        index.add(1, &vs[2]).unwrap();
        assert_eq!(index.len(), 97);
        let top = index.search(&vs[2], 2, 0.999, |_| true);
        assert_eq!(top.iter().map(|h| h.id).collect::<Vec<_>>(), {
            let mut v = vec![1, 2];
            v.sort_by_key(|id| index.ids().iter().position(|x| x == id));
            v
        });
        assert_eq!(index.retain(|id| id % 10 != 3), 10);
        assert!(index.ids().iter().all(|id| id % 10 != 3));
        while let Some(&id) = index.ids().first() {
            index.remove(&id);
        }
        assert!(index.is_empty());
        assert_eq!(index.matrix_bytes(), 0);
    }

    #[test]
    fn f16_rows_score_within_their_rounding_bound() {
        let dim = 128;
        let mut rng = Rng(11);
        let rows: Vec<(u32, Vec<f32>)> = (0..2000).map(|i| (i, rng.vector(dim))).collect();
        for kernel in kernels() {
            let mut index = FlatIndex::new(dim)
                .with_kernel(kernel)
                .with_precision(Precision::F16);
            for (id, v) in &rows {
                index.add(*id, v).unwrap();
            }
            assert_eq!(index.matrix_bytes(), 2000 * dim * 2);
            assert!(index.matrix().is_empty());
            for _ in 0..5 {
                let q = rng.vector(dim);
                let exact: HashMap<u32, f32> =
                    naive(&rows, &q, usize::MAX, -2.0).into_iter().collect();
                let got = index.search(&q, 2000, -1.0, |_| true);
                assert_eq!(got.len(), 2000);
                for h in &got {
                    let v = &rows[h.id as usize].1;
                    // 2⁻¹¹ relative rounding per component, plus f32 summation noise
                    let bound =
                        q.iter().zip(v).map(|(a, b)| (a * b).abs()).sum::<f32>() / 2048.0 + 1e-6;
                    assert!(
                        (h.similarity - exact[&h.id]).abs() <= bound,
                        "{kernel:?} {} vs {} (bound {bound})",
                        h.similarity,
                        exact[&h.id]
                    );
                }
                assert_eq!(index.search_parallel(&q, 10, -1.0, |_| true, 3), got[..10]);
            }
            // removal and overwrite keep the half rows in step with the ids
            assert!(index.remove(&0));
            index.add(5, &rows[7].1).unwrap();
            assert_eq!(index.len(), 1999);
            let top = index.search(&rows[7].1, 2, 0.99, |_| true);
            assert_eq!(top.len(), 2);
            let back = index.get(&1999).unwrap();
            assert!(back
                .iter()
                .zip(&rows[1999].1)
                .all(|(a, b)| (a - b).abs() < 1e-3));
            assert_eq!(index.search(&rows[1999].1, 1, -1.0, |_| true)[0].id, 1999);
        }
    }

    #[test]
    fn refuses_bad_vectors() {
        let mut index: FlatIndex<u8> = FlatIndex::new(4);
        assert_eq!(
            index.add(1, &[1.0, 2.0]),
            Err(IndexError::Dimension {
                expected: 4,
                got: 2
            })
        );
        assert_eq!(index.add(1, &[0.0; 4]), Err(IndexError::NotNormalisable));
        assert_eq!(
            index.add(1, &[f32::NAN, 0.0, 0.0, 1.0]),
            Err(IndexError::NotNormalisable)
        );
        index.add(1, &[2.0, 0.0, 0.0, 0.0]).unwrap();
        assert_eq!(index.get(&1).unwrap(), &[1.0, 0.0, 0.0, 0.0]);
    }
}
