//! Small helpers shared by the writer and the reader: object paths and chunk
//! shapes. Nothing here calls HDF5.

/// Largest chunk of a time-series `value` dataset (bytes).
pub(crate) const MAX_SERIES_CHUNK_BYTES: usize = 4 << 20;
/// Time-series frames smaller than this are grouped several to a chunk so
/// that scalar or tiny per-frame data does not end up as one 8-byte chunk per
/// frame (bytes).
pub(crate) const MIN_SERIES_CHUNK_BYTES: usize = 64 << 10;
/// Chunk length of the `step` and `time` datasets of a time series
/// (elements).
pub(crate) const STEP_CHUNK_LEN: usize = 1024;
/// Fixed datasets larger than this are chunked and compressed when the file has a filter
/// (bytes).
pub(crate) const COMPRESS_THRESHOLD_BYTES: usize = 8 << 10;
/// Largest chunk of a compressed fixed dataset (bytes).
pub(crate) const MAX_FIXED_CHUNK_BYTES: usize = 1 << 20;

/// The non-empty components of an HDF5 object path (`"/a//b/"` → `["a",
/// "b"]`). An empty result is the root group.
pub(crate) fn components(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|c| !c.is_empty())
}

/// The canonical absolute form of an object path (`"a//b/"` → `"/a/b"`).
pub(crate) fn normalize(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 1);
    for c in components(path) {
        out.push('/');
        out.push_str(c);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// Splits a dataset path into its parent group path and its own name.
/// Returns `None` for the root (which has no name).
pub(crate) fn split_parent(path: &str) -> Option<(String, &str)> {
    let name = components(path).last()?;
    let n = components(path).count();
    let mut parent = String::new();
    for c in components(path).take(n - 1) {
        parent.push('/');
        parent.push_str(c);
    }
    if parent.is_empty() {
        parent.push('/');
    }
    Some((parent, name))
}

/// Checks that no component is `.` or `..`, which HDF5 would treat as link
/// names and which are almost certainly a mistake.
pub(crate) fn check_components(path: &str) -> Result<(), String> {
    match components(path).find(|c| *c == "." || *c == "..") {
        Some(c) => Err(format!("object path {path:?} contains a {c:?} component")),
        None => Ok(()),
    }
}

/// `"/path@name"`, the way attributes are named in error messages.
pub(crate) fn attr_display(path: &str, name: &str) -> String {
    format!("{}@{}", normalize(path), name)
}

/// Number of elements of an array of this shape, or `None` on overflow.
/// The empty shape (a scalar) has one element.
pub(crate) fn element_count(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// A chunk shape for an array of `shape` whose elements take `elem_size`
/// bytes, holding at most `max_bytes` (but at least one element): trailing
/// dimensions are kept whole while they fit, the first one that does not fit
/// is split into equal pieces, and all dimensions before it get chunk length
/// one. Every chunk length is at least one and at most the dimension (or one
/// for a zero-length dimension).
pub(crate) fn capped_chunk(shape: &[usize], elem_size: usize, max_bytes: usize) -> Vec<usize> {
    let mut chunk = vec![1; shape.len()];
    let mut inner = elem_size.max(1);
    for (c, &d) in chunk.iter_mut().zip(shape).rev() {
        let d = d.max(1);
        match inner.checked_mul(d) {
            Some(bytes) if bytes <= max_bytes => {
                *c = d;
                inner = bytes;
            }
            _ => {
                // Split into the fewest pieces that fit, of equal length, so
                // that the last chunk is not a mostly empty remainder.
                let fit = (max_bytes / inner).clamp(1, d);
                let pieces = d.div_ceil(fit);
                *c = d.div_ceil(pieces);
                break;
            }
        }
    }
    chunk
}

/// The chunk shape of a time-series `value` dataset `[T] × element_shape`
/// of 8-byte elements: one frame per chunk, the leading element dimension
/// split so that a chunk stays under [`MAX_SERIES_CHUNK_BYTES`], and frames
/// under [`MIN_SERIES_CHUNK_BYTES`] grouped several to a chunk.
pub(crate) fn series_chunk(element_shape: &[usize], elem_size: usize) -> Vec<usize> {
    let frame = capped_chunk(element_shape, elem_size, MAX_SERIES_CHUNK_BYTES);
    let frame_bytes = frame
        .iter()
        .fold(elem_size.max(1), |acc, &d| acc.saturating_mul(d));
    let whole_frame = frame
        .iter()
        .zip(element_shape)
        .all(|(&c, &d)| c == d.max(1));
    let frames_per_chunk = if whole_frame && frame_bytes < MIN_SERIES_CHUNK_BYTES {
        (MIN_SERIES_CHUNK_BYTES / frame_bytes).max(1)
    } else {
        1
    };
    let mut chunk = Vec::with_capacity(element_shape.len() + 1);
    chunk.push(frames_per_chunk);
    chunk.extend_from_slice(&frame);
    chunk
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(normalize("a//b/"), "/a/b");
        assert_eq!(normalize(""), "/");
        assert_eq!(normalize("/"), "/");
        assert_eq!(split_parent("/a/b/c"), Some(("/a/b".to_string(), "c")));
        assert_eq!(split_parent("c"), Some(("/".to_string(), "c")));
        assert_eq!(split_parent("/"), None);
        assert!(check_components("/a/../b").is_err());
        assert!(check_components("/a/b").is_ok());
        assert_eq!(attr_display("h5md", "version"), "/h5md@version");
    }

    #[test]
    fn counts() {
        assert_eq!(element_count(&[]), Some(1));
        assert_eq!(element_count(&[4, 3]), Some(12));
        assert_eq!(element_count(&[4, 0, 3]), Some(0));
        assert_eq!(element_count(&[usize::MAX, 2]), None);
    }

    #[test]
    fn chunks_cap_the_leading_element_dimension() {
        // 1e6 particles × 3 × 8 B = 24 MB per frame: split along particles.
        let c = series_chunk(&[1_000_000, 3], 8);
        assert_eq!(c[0], 1);
        assert_eq!(c[2], 3);
        assert!(c[1] * 3 * 8 <= MAX_SERIES_CHUNK_BYTES);
        assert!(c[1] * 3 * 8 > MAX_SERIES_CHUNK_BYTES / 2);
        // …in equal pieces: 200 000 rows of 24 B are 4.8 MB → 2 × 100 000.
        assert_eq!(series_chunk(&[200_000, 3], 8), vec![1, 100_000, 3]);
        assert_eq!(series_chunk(&[200_001, 3], 8), vec![1, 100_001, 3]);
        // A 1 MB frame is exactly one chunk.
        assert_eq!(series_chunk(&[50_000, 3], 8), vec![1, 50_000, 3]);
        // Tiny frames are grouped.
        assert_eq!(series_chunk(&[], 8), vec![MIN_SERIES_CHUNK_BYTES / 8]);
        assert_eq!(
            series_chunk(&[4, 3], 8),
            vec![MIN_SERIES_CHUNK_BYTES / 96, 4, 3]
        );
        // Zero-length dimensions still give positive chunk lengths.
        assert_eq!(series_chunk(&[0, 3], 8)[1..], [1, 3]);
        // Even a single row too large for the cap is split further.
        let c = capped_chunk(&[2, 1 << 20], 8, 1 << 20);
        assert_eq!(c, vec![1, 1 << 17]);
        // Chunk lengths never exceed the dimension.
        for d in [1, 2, 3, 7, 1000, 131_073, 1 << 22] {
            let c = capped_chunk(&[d], 8, 1 << 20)[0];
            assert!(c >= 1 && c <= d && c * 8 <= 1 << 20, "{d} → {c}");
        }
    }
}
