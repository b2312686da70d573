//! 1:N search time at 10k, 100k and 1M enrolled faces (synthetic random unit vectors of the
//! embedder's dimension), for the exact index of `faceproof_engine::search` — plus 1k, whose
//! 2 MiB matrix stays in cache and so shows the kernels' own speed:
//!
//! - `simd`: [`FlatIndex::search`] with the run-time dispatched kernel (AVX2+FMA here), 1 thread;
//! - `simd_threads`: [`FlatIndex::search_parallel`] on every core;
//! - `portable`: the same index forced onto the portable kernel;
//! - `naive_scalar`: the baseline — one thread, `zip().map().sum()` per row, then a selection;
//! - `f16` / `f16_threads`: the same search over half-precision rows ([`Precision::F16`], what
//!   the server stores), 1 thread and every core, measured in the same run as `f32`.
//!
//! Every query asks for the top 10 with no threshold (the worst case: nothing is skipped).
//! `FACEPROOF_BENCH_DIM` sets the dimension (default 128, the default SFace pack; 512 for the
//! faceplugin pack). The summary gives f16 time and memory as ratios to f32 of the same run.
//! Figures from one run (2-core Xeon VM, dev profile) are in the `search` module's doc.
//! After criterion's own report the bench prints a summary table (median of a few runs) with the
//! naive/SIMD ratio. Run: `cargo bench --workspace --profile dev --bench search` (the dev profile
//! builds dependencies optimised and reuses the workspace build); `FACEPROOF_BENCH_SIZES=10000,100000`
//! limits the sizes.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion};
use faceproof_engine::search::{FlatIndex, Kernel, Precision};

/// The embedding dimension (`FACEPROOF_BENCH_DIM`, default 128: SFace).
fn dim() -> usize {
    std::env::var("FACEPROOF_BENCH_DIM")
        .ok()
        .and_then(|d| d.trim().parse().ok())
        .unwrap_or(128)
}
const K: usize = 10;

struct Rng(u64);

impl Rng {
    fn next_f32(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    fn unit(&mut self, out: &mut Vec<f32>) {
        out.clear();
        out.extend((0..dim()).map(|_| self.next_f32()));
        let n = out.iter().map(|x| x * x).sum::<f32>().sqrt();
        out.iter_mut().for_each(|x| *x /= n);
    }
}

/// The same `n` random unit vectors at both precisions.
fn build(n: usize) -> (FlatIndex<u32>, FlatIndex<u32>) {
    let dim = dim();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ n as u64);
    let mut index = FlatIndex::with_capacity(dim, n);
    let mut half = FlatIndex::with_capacity(dim, n).with_precision(Precision::F16);
    let mut v = Vec::with_capacity(dim);
    for i in 0..n {
        rng.unit(&mut v);
        index.add(i as u32, &v).unwrap();
        half.add(i as u32, &v).unwrap();
    }
    (index, half)
}

/// The baseline: a plain scalar loop over the same matrix, all scores, then a linear-time
/// selection of the top k.
fn naive(matrix: &[f32], ids: &[u32], q: &[f32], k: usize) -> Vec<(u32, f32)> {
    let mut scores: Vec<(u32, f32)> = matrix
        .chunks_exact(q.len())
        .zip(ids)
        .map(|(row, id)| (*id, row.iter().zip(q).map(|(a, b)| a * b).sum::<f32>()))
        .collect();
    if scores.len() > k {
        scores.select_nth_unstable_by(k, |a, b| b.1.total_cmp(&a.1));
        scores.truncate(k);
    }
    scores.sort_unstable_by(|a, b| b.1.total_cmp(&a.1));
    scores
}

fn median_time(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut t: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    t.sort();
    t[runs / 2]
}

fn ms(d: Duration) -> String {
    if d < Duration::from_millis(1) {
        format!("{:.0} µs", d.as_secs_f64() * 1e6)
    } else {
        format!("{:.2} ms", d.as_secs_f64() * 1e3)
    }
}

fn main() {
    let sizes: Vec<usize> = std::env::var("FACEPROOF_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 10_000, 100_000, 1_000_000]);
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let kernel = Kernel::detect();
    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .configure_from_args();
    let dim = dim();
    let mut q = Vec::with_capacity(dim);
    Rng(12345).unit(&mut q);
    let mut summary = Vec::new();
    for &n in &sizes {
        let (index, half) = build(n);
        let portable = index.clone().with_kernel(Kernel::Portable);
        // sanity: the fast path finds what the baseline finds
        let want = naive(index.matrix(), index.ids(), &q, K);
        let got = index.search(&q, K, -1.0, |_| true);
        assert_eq!(
            got.iter().map(|h| h.id).collect::<Vec<_>>(),
            want.iter().map(|w| w.0).collect::<Vec<_>>()
        );
        let label = if n >= 1_000_000 && n % 1_000_000 == 0 {
            format!("{}M", n / 1_000_000)
        } else {
            format!("{}k", n / 1000)
        };
        {
            let mut group = criterion.benchmark_group(format!("search_{label}"));
            group.measurement_time(Duration::from_secs(if n >= 1_000_000 { 10 } else { 3 }));
            group.bench_function(BenchmarkId::new("simd", kernel.name()), |b| {
                b.iter(|| black_box(index.search(black_box(&q), K, -1.0, |_| true)))
            });
            group.bench_function(BenchmarkId::new("simd_threads", threads), |b| {
                b.iter(|| {
                    black_box(index.search_parallel(black_box(&q), K, -1.0, |_| true, threads))
                })
            });
            group.bench_function("portable", |b| {
                b.iter(|| black_box(portable.search(black_box(&q), K, -1.0, |_| true)))
            });
            group.bench_function("f16", |b| {
                b.iter(|| black_box(half.search(black_box(&q), K, -1.0, |_| true)))
            });
            group.bench_function(BenchmarkId::new("f16_threads", threads), |b| {
                b.iter(|| {
                    black_box(half.search_parallel(black_box(&q), K, -1.0, |_| true, threads))
                })
            });
            group.bench_function("naive_scalar", |b| {
                b.iter(|| black_box(naive(index.matrix(), index.ids(), black_box(&q), K)))
            });
            group.finish();
        }
        let runs = if n >= 1_000_000 { 5 } else { 21 };
        let simd = median_time(runs, || {
            black_box(index.search(&q, K, -1.0, |_| true));
        });
        let par = median_time(runs, || {
            black_box(index.search_parallel(&q, K, -1.0, |_| true, threads));
        });
        let port = median_time(runs, || {
            black_box(portable.search(&q, K, -1.0, |_| true));
        });
        let base = median_time(runs, || {
            black_box(naive(index.matrix(), index.ids(), &q, K));
        });
        let h1 = median_time(runs, || {
            black_box(half.search(&q, K, -1.0, |_| true));
        });
        let hpar = median_time(runs, || {
            black_box(half.search_parallel(&q, K, -1.0, |_| true, threads));
        });
        // same top 10 on random vectors (well separated at this size, no near-ties expected)
        let same = half
            .search(&q, K, -1.0, |_| true)
            .iter()
            .map(|h| h.id)
            .eq(got.iter().map(|h| h.id));
        summary.push(Summary {
            label,
            mib: index.matrix_bytes() as f64 / (1 << 20) as f64,
            half_mib: half.matrix_bytes() as f64 / (1 << 20) as f64,
            simd,
            par,
            port,
            base,
            h1,
            hpar,
            same,
        });
    }
    criterion.final_summary();
    // The kernels on two cache-resident vectors: their own speed, without memory traffic.
    let mut other = Vec::with_capacity(dim);
    Rng(54321).unit(&mut other);
    let reps = 200_000;
    let kernel_time = |f: &dyn Fn(&[f32], &[f32]) -> f32| {
        median_time(5, || {
            let mut acc = 0.0f32;
            for _ in 0..reps {
                acc += f(black_box(&q), black_box(&other));
            }
            black_box(acc);
        }) / reps
    };
    let plain = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    println!(
        "\ndot product of two {dim}-d vectors in L1: {} {:.0} ns, portable {:.0} ns, naive scalar {:.0} ns",
        kernel.name(),
        kernel_time(&|a, b| kernel.dot(a, b)).as_nanos(),
        kernel_time(&|a, b| Kernel::Portable.dot(a, b)).as_nanos(),
        kernel_time(&plain).as_nanos(),
    );
    println!(
        "\n1:N search, dim {dim}, top {K}, kernel {}, {threads} threads available (median of runs):",
        kernel.name()
    );
    println!(
        "| faces | f32 matrix | f32 1 thread | f32 {threads} threads | portable 1 thread | naive scalar 1 thread | naive / simd |"
    );
    println!("|---|---|---|---|---|---|---|");
    for r in &summary {
        println!(
            "| {} | {:.0} MiB | {} | {} | {} | {} | {:.1}× |",
            r.label,
            r.mib,
            ms(r.simd),
            ms(r.par),
            ms(r.port),
            ms(r.base),
            r.base.as_secs_f64() / r.simd.as_secs_f64()
        );
    }
    println!("\nf16 rows against f32 rows, same vectors, same run:");
    println!(
        "| faces | f16 matrix (÷ f32) | f16 1 thread (÷ f32) | f16 {threads} threads (÷ f32) | same top {K} |"
    );
    println!("|---|---|---|---|---|");
    for r in &summary {
        println!(
            "| {} | {:.0} MiB ({:.2}) | {} ({:.2}) | {} ({:.2}) | {} |",
            r.label,
            r.half_mib,
            r.half_mib / r.mib,
            ms(r.h1),
            r.h1.as_secs_f64() / r.simd.as_secs_f64(),
            ms(r.hpar),
            r.hpar.as_secs_f64() / r.par.as_secs_f64(),
            if r.same { "yes" } else { "no" },
        );
    }
}

struct Summary {
    label: String,
    mib: f64,
    half_mib: f64,
    simd: Duration,
    par: Duration,
    port: Duration,
    base: Duration,
    h1: Duration,
    hpar: Duration,
    same: bool,
}
