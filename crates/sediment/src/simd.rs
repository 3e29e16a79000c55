//! Run-time choice of the vector width of the overdamped kernel (x86-64).
//!
//! The crate is built for the x86-64 baseline (SSE2, 2 doubles per vector), where the cost
//! model of the compiler leaves the overdamped step loop scalar. [`dispatch`] runs a kernel
//! body compiled inside an AVX2 (4 doubles) or AVX-512F (8 doubles) `#[target_feature]`
//! function when the CPU has it (detected at run time by `is_x86_feature_detected!`, cached by
//! `std`). The kernel's loops are elementwise IEEE operations (Rust never contracts
//! `a * b + c` into a fused multiply-add, whatever the target features) and exact comparisons
//! and maxima, so every width gives bitwise the same cells (tested in `solver`). Calling a
//! `#[target_feature]` function is the crate's only `unsafe` code, hence
//! `#![deny(unsafe_code)]` with one scoped `allow` here.

/// Instruction sets a kernel body may be compiled for, narrowest first (on other
/// architectures only the portable code exists).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) enum Isa {
    /// as compiled for the target (SSE2 on x86-64)
    #[cfg_attr(
        not(test),
        allow(dead_code, reason = "only the tests force the portable code")
    )]
    Portable,
    /// AVX2: 4 doubles per vector
    #[cfg_attr(
        not(test),
        allow(dead_code, reason = "only the tests force the AVX2 code")
    )]
    Avx2,
    /// AVX-512F: 8 doubles per vector
    Avx512,
}

/// A kernel call: its arguments, and the body that [`dispatch`] compiles for a vector width.
/// `run` must be `#[inline(always)]` and inline everything it calls in its loops (a closure
/// would not do: the compiler's cost model may keep a large closure out of line, compiled for
/// the baseline).
pub(crate) trait Body {
    /// what the kernel returns
    type Output;
    /// the kernel
    fn run(self) -> Self::Output;
}

/// Runs `body` compiled with AVX2 enabled (its inlined loops are vectorised 4 wide).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn with_avx2<B: Body>(body: B) -> B::Output {
    body.run()
}

/// As [`with_avx2`] with AVX-512F: 8 doubles per vector.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,avx512f")]
fn with_avx512<B: Body>(body: B) -> B::Output {
    body.run()
}

/// Runs `body` compiled for the widest instruction set that `isa` allows and the CPU supports:
/// [`with_avx512`], [`with_avx2`] or the portable code. All paths give bitwise identical
/// results.
#[inline(always)]
#[allow(unsafe_code)]
pub(crate) fn dispatch<B: Body>(isa: Isa, f: B) -> B::Output {
    #[cfg(target_arch = "x86_64")]
    {
        if isa >= Isa::Avx512
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("avx512f")
        {
            // SAFETY: `with_avx512` only requires the AVX2 and AVX-512F target features (and
            // those they imply), which the running CPU was detected to support above.
            return unsafe { with_avx512(f) };
        }
        if isa >= Isa::Avx2 && std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: `with_avx2` only requires the AVX2 target feature (and those it
            // implies), which the running CPU was detected to support above.
            return unsafe { with_avx2(f) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = isa;
    f.run()
}
