//! Memory needed by a run, estimated before it starts, against the memory available, so that a
//! run too large for the machine is refused with a clear message instead of dying in an
//! allocation (`count = 1e8` once died with `memory allocation of 1600000000 bytes failed`).

use super::scenario::Resolved;

/// Bytes per tracer cell of a particle run: the structure-of-arrays state (15 f64 and a few
/// small fields), the sampling buffers and the output's recycled frame buffers. Measured peak
/// resident memory of 10⁶ cells with positions and velocities (`/usr/bin/time -f %M buffycoat
/// run data/scenarios/default.toml --set species.0.count=1000000 --set run.duration_s=2`):
/// 190 MB overdamped, 270 MB inertial; this is that with a margin.
pub const BYTES_PER_PARTICLE: u64 = 384;
/// Bytes per tracer cell of a hindered run (tracer state and its frame buffers).
pub const BYTES_PER_TRACER: u64 = 384;
/// Bytes per radial cell and class of the hindered field (state, stages, fluxes, slopes,
/// weights and scratch: about 16 f64).
pub const BYTES_PER_FIELD_VALUE: u64 = 128;
/// Fixed overhead (program, HDF5 library, thread pool).
pub const BASE_BYTES: u64 = 64 << 20;

/// Estimated peak memory of a run (bytes).
pub fn estimate_bytes(r: &Resolved) -> u64 {
    let cells: u64 = r.species.iter().map(|s| s.count as u64).sum();
    match &r.hindered {
        Some(h) => {
            let classes = (r.species.len() * h.classes_per_species).max(1) as u64;
            BASE_BYTES
                .saturating_add(cells.saturating_mul(BYTES_PER_TRACER))
                .saturating_add(
                    (h.radial_cells as u64)
                        .saturating_mul(classes)
                        .saturating_mul(BYTES_PER_FIELD_VALUE),
                )
        }
        None => BASE_BYTES.saturating_add(cells.saturating_mul(BYTES_PER_PARTICLE)),
    }
}

/// Memory this process may still use (bytes), the smallest of what the system reports
/// (Linux: `MemAvailable`, the cgroup's `memory.max` minus `memory.current`, the address-space
/// limit of `ulimit -v`); `None` where none of them can be read.
pub fn available_bytes() -> Option<(u64, &'static str)> {
    let mut best: Option<(u64, &'static str)> = None;
    let mut offer = |v: Option<u64>, what: &'static str| {
        if let Some(v) = v
            && best.is_none_or(|(b, _)| v < b)
        {
            best = Some((v, what));
        }
    };
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok();
    offer(
        meminfo.as_deref().and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemAvailable:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .map(|kb| kb * 1024)
        }),
        "available system memory",
    );
    let read_u64 = |p: &str| {
        std::fs::read_to_string(p)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
    };
    if let (Some(max), Some(current)) = (
        read_u64("/sys/fs/cgroup/memory.max"),
        read_u64("/sys/fs/cgroup/memory.current"),
    ) {
        offer(Some(max.saturating_sub(current)), "the cgroup memory limit");
    }
    let limits = std::fs::read_to_string("/proc/self/limits").ok();
    offer(
        limits.as_deref().and_then(|l| {
            l.lines()
                .find(|l| l.starts_with("Max address space"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|v| v.parse::<u64>().ok())
        }),
        "the address-space limit (ulimit -v)",
    );
    best
}

/// Refuses a run whose estimated memory exceeds what is available, naming the estimate, the
/// limit and what to change.
pub fn check_memory(r: &Resolved) -> Result<(), String> {
    let need = estimate_bytes(r);
    match available_bytes() {
        Some((have, what)) if need > have => Err(format!(
            "this run needs about {} of memory ({} tracer cells), more than {what} ({}): use fewer cells (species count or blood.tracers_per_species) or grid cells",
            gib(need),
            r.species.iter().map(|s| s.count as u64).sum::<u64>(),
            gib(have)
        )),
        _ => Ok(()),
    }
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GB", bytes as f64 / 1e9)
}
