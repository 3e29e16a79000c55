//! `buffycoat merge`: combining shard files into one sweep.

use super::SweepError;
use super::file::{PointStatus, SweepData};
use super::grid::Shard;
use std::path::{Path, PathBuf};

/// Most points listed in a coverage error.
const LISTED: usize = 12;

/// Reads the parts and combines them: every part must be the same sweep (scenario text and
/// grid) and every point must be run (status 0 or 1) in exactly one part. The result covers
/// the whole grid (shard `0/1`).
pub fn merge_parts(parts: &[PathBuf]) -> Result<SweepData, SweepError> {
    let Some(first_path) = parts.first() else {
        return Err(SweepError::Coverage {
            message: "no parts given".into(),
        });
    };
    let mut data = Vec::with_capacity(parts.len());
    for path in parts {
        data.push(SweepData::read_h5(path)?);
    }
    for (path, d) in parts.iter().zip(&data).skip(1) {
        if let Some(diff) = data[0].sweep_difference(d) {
            return Err(SweepError::Mismatch {
                path: path.clone(),
                message: format!(
                    "it is not part of the same sweep as {}: {diff} (that part's vs this one's)",
                    first_path.display()
                ),
            });
        }
    }
    let p = data[0].points.len();
    // owner[i]: the parts that ran point i
    let mut owners: Vec<Vec<usize>> = vec![Vec::new(); p];
    for (k, d) in data.iter().enumerate() {
        for (i, point) in d.points.iter().enumerate() {
            if point.status != PointStatus::NotRun {
                owners[i].push(k);
            }
        }
    }
    let overlaps: Vec<usize> = (0..p).filter(|&i| owners[i].len() > 1).collect();
    if !overlaps.is_empty() {
        let list = overlaps
            .iter()
            .take(LISTED)
            .map(|&i| {
                let names: Vec<String> = owners[i].iter().map(|&k| name(&parts[k])).collect();
                format!("{i} ({})", names.join(", "))
            })
            .collect::<Vec<_>>()
            .join("; ");
        return Err(SweepError::Coverage {
            message: format!(
                "{} point(s) were run in more than one part: {list}{} — was a part given twice, \
                 or shards of different --shard I/N counts mixed?",
                overlaps.len(),
                more(overlaps.len())
            ),
        });
    }
    let gaps: Vec<usize> = (0..p).filter(|&i| owners[i].is_empty()).collect();
    if !gaps.is_empty() {
        let list = gaps
            .iter()
            .take(LISTED)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let mut hints = Vec::new();
        for (path, d) in parts.iter().zip(&data) {
            let pending = d.pending_in_shard();
            if pending > 0 {
                hints.push(format!(
                    "{} (shard {}) has {pending} point(s) not run: finish it with `buffycoat \
                     sweep … --shard {} --resume`",
                    name(path),
                    d.shard,
                    d.shard
                ));
            }
        }
        // With parts of one --shard I/N count, name the missing shards.
        let n = data[0].shard.count;
        if n > 1 && data.iter().all(|d| d.shard.count == n) {
            let present: Vec<usize> = data.iter().map(|d| d.shard.index).collect();
            let missing: Vec<String> = (0..n)
                .filter(|i| !present.contains(i))
                .map(|i| Shard { index: i, count: n }.to_string())
                .collect();
            if !missing.is_empty() {
                hints.push(format!("missing shard(s) {}", missing.join(", ")));
            }
        }
        return Err(SweepError::Coverage {
            message: format!(
                "{} of {p} point(s) are not covered by any part: {list}{}{}",
                gaps.len(),
                more(gaps.len()),
                if hints.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", hints.join("; "))
                }
            ),
        });
    }
    let mut merged = data[0].clone();
    merged.shard = Shard::WHOLE;
    for (i, owner) in owners.iter().enumerate() {
        merged.points[i] = data[owner[0]].points[i].clone();
    }
    Ok(merged)
}

fn name(path: &Path) -> String {
    path.display().to_string()
}

fn more(n: usize) -> String {
    if n > LISTED {
        format!(" … ({n} in all)")
    } else {
        String::new()
    }
}
