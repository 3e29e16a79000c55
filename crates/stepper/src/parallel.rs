//! The thread pool and the fixed-chunk, ordered reduction.

use rayon::prelude::*;

/// Default number of elements per chunk: 2048 particles × ~10 f64 arrays ≈ 160 KiB, which stays
/// resident in a 256 KiB–2 MiB L2 cache while a chunk is advanced through many steps.
pub const DEFAULT_CHUNK_LEN: usize = 2048;

/// Errors of the stepper.
#[derive(Debug, thiserror::Error)]
pub enum StepperError {
    /// The thread pool could not be created.
    #[error("could not start a pool of {threads} threads: {message}")]
    ThreadPool {
        /// requested threads
        threads: usize,
        /// rayon's message
        message: String,
    },
    /// Zero threads or a zero chunk length were requested.
    #[error("{what} must be at least 1, got {value}")]
    Zero {
        /// which setting
        what: &'static str,
        /// value given
        value: usize,
    },
    /// The schedule is invalid (non-finite or non-positive duration or interval).
    #[error("invalid schedule: {0}")]
    Schedule(String),
}

/// A dedicated rayon pool plus the fixed chunk length every parallel loop uses.
///
/// Passing a `Parallel` explicitly (rather than using rayon's global pool) makes the thread count
/// a parameter of each run, as in faer: tests can run the same system with 1, 2 and 3 threads
/// side by side.
#[derive(Debug)]
pub struct Parallel {
    pool: rayon::ThreadPool,
    threads: usize,
    chunk_len: usize,
}

impl Parallel {
    /// A pool of `threads` workers (`None`: one per available core) and the given chunk length.
    pub fn new(threads: Option<usize>, chunk_len: usize) -> Result<Self, StepperError> {
        let threads = threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(1)
        });
        if threads == 0 {
            return Err(StepperError::Zero {
                what: "threads",
                value: 0,
            });
        }
        if chunk_len == 0 {
            return Err(StepperError::Zero {
                what: "chunk length",
                value: 0,
            });
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("buffycoat-worker-{i}"))
            .build()
            .map_err(|e| StepperError::ThreadPool {
                threads,
                message: e.to_string(),
            })?;
        Ok(Self {
            pool,
            threads,
            chunk_len,
        })
    }

    /// A single-threaded pool (for tests, sweeps that parallelise across points, probes).
    pub fn serial() -> Self {
        Self::new(Some(1), DEFAULT_CHUNK_LEN).expect("a one-thread pool can always be built")
    }

    /// Number of worker threads.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Elements per chunk.
    pub fn chunk_len(&self) -> usize {
        self.chunk_len
    }

    /// Number of chunks covering `len` elements.
    pub fn chunk_count(&self, len: usize) -> usize {
        len.div_ceil(self.chunk_len)
    }

    /// Runs `f` inside this pool: every rayon parallel iterator in `f` uses these workers.
    pub fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        self.pool.install(f)
    }
}

/// Per-chunk partial results, folded in chunk order so that reductions are independent of
/// scheduling. Allocate once per system (one slot per chunk), reuse every step.
#[derive(Debug, Clone)]
pub struct ChunkReducer<R> {
    partials: Vec<R>,
}

impl<R: Copy + Send + Sync> ChunkReducer<R> {
    /// Scratch for `chunks` chunks, each slot initialised to `identity`.
    pub fn new(chunks: usize, identity: R) -> Self {
        Self {
            partials: vec![identity; chunks],
        }
    }

    /// Number of slots.
    pub fn len(&self) -> usize {
        self.partials.len()
    }

    /// True when there are no slots.
    pub fn is_empty(&self) -> bool {
        self.partials.is_empty()
    }

    /// Maps every chunk item in parallel into its slot, then folds the slots in order:
    /// `merge(...merge(merge(identity, r₀), r₁)..., rₙ₋₁)`.
    ///
    /// `items` must yield exactly [`ChunkReducer::len`] items (one per chunk); otherwise this
    /// panics, as it indicates a programming error in the caller's chunking.
    pub fn map_reduce<I, F, M>(&mut self, items: I, map: F, identity: R, merge: M) -> R
    where
        I: IndexedParallelIterator,
        F: Fn(I::Item) -> R + Sync + Send,
        M: Fn(R, R) -> R,
    {
        assert_eq!(
            items.len(),
            self.partials.len(),
            "ChunkReducer: chunk count mismatch"
        );
        items
            .zip(self.partials.par_iter_mut())
            .for_each(|(item, slot)| *slot = map(item));
        self.partials.iter().fold(identity, |acc, &r| merge(acc, r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A floating-point sum whose result depends on association order unless it is fixed.
    fn chunked_sum(par: &Parallel, data: &[f64]) -> f64 {
        let mut reducer = ChunkReducer::new(par.chunk_count(data.len()), 0.0);
        par.install(|| {
            reducer.map_reduce(
                data.par_chunks(par.chunk_len()),
                |chunk| chunk.iter().sum::<f64>(),
                0.0,
                |a, b| a + b,
            )
        })
    }

    #[test]
    fn ordered_reduction_is_bitwise_thread_invariant() {
        // Values spanning many magnitudes make a sum sensitive to association order.
        let data: Vec<f64> = (0..100_003i32)
            .map(|i| {
                let x = (i as f64 * 0.618_033_988_749).fract();
                x * 10f64.powi(i % 17 - 8)
            })
            .collect();
        let sums: Vec<u64> = [1, 2, 3, 4]
            .iter()
            .map(|&t| chunked_sum(&Parallel::new(Some(t), 1000).unwrap(), &data).to_bits())
            .collect();
        assert!(sums.windows(2).all(|w| w[0] == w[1]), "{sums:?}");
    }

    #[test]
    fn rejects_zero_threads_and_chunks() {
        assert!(matches!(
            Parallel::new(Some(0), 10),
            Err(StepperError::Zero { .. })
        ));
        assert!(matches!(
            Parallel::new(Some(1), 0),
            Err(StepperError::Zero { .. })
        ));
    }
}
