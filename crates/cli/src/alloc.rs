//! The program's memory allocator: the system allocator, asking the kernel for transparent
//! huge pages (2 MiB) for large blocks.
//!
//! Why: a particle run keeps a dozen arrays of one value per cell; at 10⁶ cells that is
//! ≈ 200 MB, which the kernel hands out, zeroes and at exit frees one 4 KiB page at a time.
//! Measured on the 10⁶-cell whole-process benchmark (`benches/whole_process.py`), those
//! ≈ 50 000 page faults and the page-by-page teardown cost about a tenth of the run; with huge
//! pages for blocks of 4 MiB and more the faults drop to ≈ 14 000 and the CPU time by ≈ 8 %.
//! Most Linux systems enable transparent huge pages only on request (`madvise` mode), which is
//! what this asks for. The allocator crates that can do this (jemalloc, mimalloc) replace the
//! whole allocator and build C code; this wrapper changes nothing for blocks under 4 MiB and
//! nothing at all off Linux. Results cannot depend on it (no computation reads addresses).
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};

/// Size of a transparent huge page on x86-64 and aarch64 Linux (B).
const HUGE_PAGE: usize = 2 << 20;
/// Blocks at least this large are aligned to a huge page and advised (B).
const LARGE_BLOCK: usize = 4 << 20;

/// [`System`], with large blocks aligned to [`HUGE_PAGE`] and advised `MADV_HUGEPAGE`.
pub struct HugePageAlloc;

/// The layout actually requested from [`System`] for `layout`.
fn system_layout(layout: Layout) -> Layout {
    if layout.size() >= LARGE_BLOCK {
        // Size and a power-of-two alignment ≤ the size are valid for any valid layout.
        Layout::from_size_align(layout.size(), layout.align().max(HUGE_PAGE)).unwrap_or(layout)
    } else {
        layout
    }
}

/// Asks for huge pages on the whole huge pages inside `[ptr, ptr + len)` (before any of them is
/// touched, so the first touch faults in a huge page).
fn advise(ptr: *mut u8, len: usize) {
    #[cfg(target_os = "linux")]
    {
        let start = (ptr as usize).next_multiple_of(HUGE_PAGE);
        let end = (ptr as usize + len) / HUGE_PAGE * HUGE_PAGE;
        if end > start {
            // SAFETY: the range lies inside a block this allocator just obtained; the advice
            // changes how the kernel backs the pages, not their contents (a failure, e.g. no
            // huge page support, leaves ordinary pages).
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (ptr, len);
}

// SAFETY: every block comes from `System` with the layout `system_layout` gives, and is returned
// to it with the same layout; `realloc` of large blocks goes through `alloc` and `dealloc`.
unsafe impl GlobalAlloc for HugePageAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(system_layout(layout)) };
        if !ptr.is_null() && layout.size() >= LARGE_BLOCK {
            advise(ptr, layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() < LARGE_BLOCK {
            return unsafe { System.alloc_zeroed(layout) };
        }
        // Advise before zeroing, so that the zeroing faults in huge pages.
        let ptr = unsafe { self.alloc(layout) };
        if !ptr.is_null() {
            unsafe { ptr.write_bytes(0, layout.size()) };
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, system_layout(layout)) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.size() < LARGE_BLOCK && new_size < LARGE_BLOCK {
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            return std::ptr::null_mut();
        };
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Large and small blocks: aligned as asked (large ones to a huge page), zeroed when asked,
    /// contents kept across reallocations that cross the threshold both ways.
    #[test]
    fn blocks_keep_alignment_zeroing_and_contents() {
        let a = HugePageAlloc;
        for (size, align) in [(64, 8), (LARGE_BLOCK, 8), (3 * LARGE_BLOCK + 5, 64)] {
            let layout = Layout::from_size_align(size, align).unwrap();
            unsafe {
                let p = a.alloc_zeroed(layout);
                assert!(!p.is_null());
                assert_eq!(p as usize % align, 0);
                if size >= LARGE_BLOCK {
                    assert_eq!(p as usize % HUGE_PAGE, 0);
                }
                assert!(std::slice::from_raw_parts(p, size).iter().all(|&b| b == 0));
                for i in 0..size.min(1000) {
                    *p.add(i) = i as u8;
                }
                // Grow across the threshold, then shrink back below it.
                let q = a.realloc(p, layout, size + LARGE_BLOCK);
                assert!(!q.is_null());
                let grown = Layout::from_size_align(size + LARGE_BLOCK, align).unwrap();
                let r = a.realloc(q, grown, 1000);
                assert!(!r.is_null());
                for i in 0..size.min(1000) {
                    assert_eq!(*r.add(i), i as u8);
                }
                a.dealloc(r, Layout::from_size_align(1000, align).unwrap());
            }
        }
    }
}
