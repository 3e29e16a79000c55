//! Parallel compression of a time-series frame into HDF5 chunks, for direct chunk writes.
//!
//! HDF5 runs its filter pipeline on the calling thread, under the library's global lock, so a
//! deflate-compressed frame of 10⁶ cells (24 MB) takes the writer thread a second or more. With
//! [`Compression::Deflate`](crate::Compression::Deflate) the writer instead cuts each frame into
//! its chunks, runs the *same* filters (HDF5's byte shuffle, then zlib) on worker threads, and
//! hands the finished chunks to HDF5 with `H5Dwrite_chunk`, which stores them as they are. The
//! bytes on disk are what the pipeline would have produced up to the zlib implementation (any
//! zlib stream inflates to the same data), so every HDF5 reader (h5py included) decodes them
//! with its stock deflate and shuffle filters.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

/// The bytes of `values` (native order, as HDF5 stores `f64` datasets), through HDF5's shuffle
/// filter (H5Z_FILTER_SHUFFLE, `H5Zshuffle.c`) when `shuffle`: byte `b` of value `i` goes to
/// `out[b · n + i]` for n values. `out` is cleared first.
pub(crate) fn value_bytes(values: &[f64], shuffle: bool, out: &mut Vec<u8>) {
    const ELEM: usize = size_of::<f64>();
    let n = values.len();
    out.clear();
    out.resize(n * ELEM, 0);
    if shuffle {
        for (i, v) in values.iter().enumerate() {
            for (b, byte) in v.to_ne_bytes().into_iter().enumerate() {
                out[b * n + i] = byte;
            }
        }
    } else {
        for (o, v) in out.chunks_exact_mut(ELEM).zip(values) {
            o.copy_from_slice(&v.to_ne_bytes());
        }
    }
}

/// Number of chunks of `chunk_len` values covering `frame_len` values (the last one may be an
/// edge chunk, zero-padded to full size as HDF5 stores it).
pub(crate) fn chunk_count(frame_len: usize, chunk_len: usize) -> usize {
    frame_len.div_ceil(chunk_len.max(1))
}

/// Filters chunk `k` of `frame` (values `k · chunk_len ..`, zero-padded to `chunk_len`):
/// shuffle when `shuffle`, then zlib at `level`, into `out` (replaced). `padded` and `bytes`
/// are scratch reused between calls.
fn filter_chunk(
    frame: &[f64],
    k: usize,
    chunk_len: usize,
    shuffle: bool,
    level: u8,
    padded: &mut Vec<f64>,
    bytes: &mut Vec<u8>,
    out: &mut Vec<u8>,
) -> std::io::Result<()> {
    let start = k * chunk_len;
    let end = (start + chunk_len).min(frame.len());
    let values: &[f64] = if end - start == chunk_len {
        &frame[start..end]
    } else {
        padded.clear();
        padded.extend_from_slice(&frame[start..end]);
        padded.resize(chunk_len, 0.0);
        padded
    };
    value_bytes(values, shuffle, bytes);
    let mut buf = std::mem::take(out);
    buf.clear();
    let mut encoder =
        flate2::write::ZlibEncoder::new(buf, flate2::Compression::new(u32::from(level)));
    encoder.write_all(bytes)?;
    *out = encoder.finish()?;
    Ok(())
}

/// Filters every chunk of `frame` (chunks of `chunk_len` values) on up to `threads` threads
/// (scoped; the calling thread is one of them) into `outs[k]` for chunk `k`. Chunks are
/// independent, so the result does not depend on `threads`.
pub(crate) fn filter_frame(
    frame: &[f64],
    chunk_len: usize,
    shuffle: bool,
    level: u8,
    threads: usize,
    outs: &mut Vec<Vec<u8>>,
) -> std::io::Result<()> {
    let count = chunk_count(frame.len(), chunk_len);
    outs.resize_with(count, Vec::new);
    outs.truncate(count);
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<&mut Vec<u8>>> = outs.iter_mut().map(Mutex::new).collect();
    let work = || -> std::io::Result<()> {
        let (mut padded, mut bytes) = (Vec::new(), Vec::new());
        loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            if k >= count {
                return Ok(());
            }
            let mut slot = slots[k].lock().unwrap_or_else(PoisonError::into_inner);
            filter_chunk(
                frame,
                k,
                chunk_len,
                shuffle,
                level,
                &mut padded,
                &mut bytes,
                &mut slot,
            )?;
        }
    };
    let helpers = threads.clamp(1, count.max(1)) - 1;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..helpers).map(|_| s.spawn(work)).collect();
        let mut result = work();
        for h in handles {
            let r = h
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("a compression thread panicked")));
            if result.is_ok() {
                result = r;
            }
        }
        result
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn inflate(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(bytes)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    fn unshuffle(input: &[u8], elem: usize) -> Vec<u8> {
        let n = input.len() / elem;
        let mut out = input.to_vec();
        for i in 0..n {
            for b in 0..elem {
                out[i * elem + b] = input[b * n + i];
            }
        }
        out
    }

    #[test]
    fn shuffle_transposes_bytes() {
        let values = [
            f64::from_bits(0x0706_0504_0302_0100),
            f64::from_bits(0x0f0e_0d0c_0b0a_0908),
        ];
        let mut out = Vec::new();
        value_bytes(&values, true, &mut out);
        assert_eq!(out, [0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15]);
        value_bytes(&values, false, &mut out);
        assert_eq!(out, (0..16).collect::<Vec<u8>>());
    }

    #[test]
    fn frames_round_trip_for_any_thread_count_with_a_padded_edge_chunk() {
        let values: Vec<f64> = (0..10_001).map(|i| (i as f64).sqrt() * 1e-3).collect();
        let frame: Vec<u8> = values.iter().flat_map(|v| v.to_ne_bytes()).collect();
        let chunk_len = 3000;
        for shuffle in [false, true] {
            let mut reference: Option<Vec<Vec<u8>>> = None;
            for threads in [1, 2, 3, 8] {
                let mut outs = Vec::new();
                filter_frame(&values, chunk_len, shuffle, 4, threads, &mut outs).unwrap();
                assert_eq!(outs.len(), 4);
                let mut back = Vec::new();
                for c in &outs {
                    let raw = inflate(c);
                    assert_eq!(raw.len(), 8 * chunk_len);
                    back.extend(if shuffle { unshuffle(&raw, 8) } else { raw });
                }
                assert_eq!(back[..frame.len()], frame[..]);
                assert!(back[frame.len()..].iter().all(|&b| b == 0));
                match &reference {
                    None => reference = Some(outs),
                    Some(r) => assert_eq!(r, &outs, "{threads} threads"),
                }
            }
        }
    }
}
