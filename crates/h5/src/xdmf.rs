//! XDMF sidecars: an `OUT.xmf` next to an output `OUT.h5` that describes its meshes and their
//! data for ParaView and VisIt (XDMF 2, read by VTK's `vtkXdmfReader`; the heavy data stay in
//! the HDF5 file and are referenced by path, so the `.xmf` is a few kB).
//!
//! What it describes (whatever the file holds):
//!
//! | grid | mesh | point data | time |
//! |---|---|---|---|
//! | `cells` | the tracer cells as a `Polyvertex` (one vertex per cell, positions in m) | `velocity` (m s-1), `species`, `id`, `diameter` (m), `density` (kg m-3), `final_status` | temporal: one grid per position frame |
//! | `radial_field` | the radial cell centres as a line of points (`3DRectMesh` 1 × 1 × Nr along x, m) | one volume fraction per class (named as in `names`) | temporal: one grid per field frame |
//! | `channel` | the channel's (radius, along-channel) grid (`2DRectMesh`, x = radius, y = along, m) | `hematocrit`, one volume fraction per class | steady |
//!
//! Files without any of these (sweeps, procedures) get no sidecar. The `.xmf` names the HDF5
//! file by its file name only, so the two can be moved together.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::error::H5Error;
use crate::reader::{ElementKind, Reader};
use crate::schema;

/// The sidecar path of an output: `OUT.h5` → `OUT.xmf` (other names get `.xmf` appended).
pub fn sidecar_path(h5: &Path) -> PathBuf {
    match h5.extension() {
        Some(e) if e == "h5" || e == "hdf5" => h5.with_extension("xmf"),
        _ => {
            let mut name = h5.as_os_str().to_owned();
            name.push(".xmf");
            PathBuf::from(name)
        }
    }
}

/// Writes the XDMF sidecar of the finished output `h5` (atomically) and returns its path, or
/// `None` if the file holds nothing to show on a mesh.
///
/// # Errors
/// Reading `h5` ([`H5Error::Open`], [`H5Error::Read`], [`H5Error::Layout`]) or writing the
/// sidecar ([`H5Error::Write`]).
pub fn write_sidecar(h5: &Path) -> Result<Option<PathBuf>, H5Error> {
    let text = match describe(h5)? {
        Some(t) => t,
        None => return Ok(None),
    };
    let path = sidecar_path(h5);
    crate::atomic::write_atomic(&path, |f| f.write_all(text.as_bytes())).map_err(|e| {
        H5Error::Write {
            path: path.clone(),
            dataset: "XDMF sidecar".into(),
            message: e.to_string(),
        }
    })?;
    Ok(Some(path))
}

/// The XDMF text describing `h5`, or `None` if nothing in it is on a mesh.
///
/// # Errors
/// As for [`write_sidecar`] (reading).
pub fn describe(h5: &Path) -> Result<Option<String>, H5Error> {
    let r = Reader::open(h5)?;
    let file = h5
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let file = escape(&file);
    let mut grids = String::new();
    particles(&r, &file, &mut grids)?;
    radial_field(&r, &file, &mut grids)?;
    channel(&r, &file, &mut grids)?;
    if grids.is_empty() {
        return Ok(None);
    }
    Ok(Some(format!(
        "<?xml version=\"1.0\" ?>\n<!DOCTYPE Xdmf SYSTEM \"Xdmf.dtd\" []>\n\
         <!-- buffycoat output {file}: open this file in ParaView (Xdmf Reader) or VisIt -->\n\
         <Xdmf Version=\"2.0\">\n <Domain>\n{grids} </Domain>\n</Xdmf>\n"
    )))
}

/// XML attribute/text escaping.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn dims(shape: &[usize]) -> String {
    shape
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `NumberType` and `Precision` of a dataset.
fn number_type(r: &Reader, path: &str) -> Result<(&'static str, usize), H5Error> {
    let kind = match r.element_kind(path)? {
        ElementKind::Integer => "Int",
        _ => "Float",
    };
    Ok((kind, r.element_size(path)?))
}

/// A whole dataset as an HDF DataItem.
fn whole(r: &Reader, file: &str, path: &str) -> Result<String, H5Error> {
    let shape = r.shape(path)?;
    let (nt, prec) = number_type(r, path)?;
    Ok(format!(
        "<DataItem Dimensions=\"{}\" NumberType=\"{nt}\" Precision=\"{prec}\" Format=\"HDF\">{file}:{path}</DataItem>",
        dims(&shape)
    ))
}

/// A hyperslab (start, count; stride 1) of a float64 dataset, shown with dimensions `out`.
fn slab(
    file: &str,
    path: &str,
    shape: &[usize],
    start: &[usize],
    count: &[usize],
    out: &[usize],
) -> String {
    let n = shape.len();
    format!(
        "<DataItem ItemType=\"HyperSlab\" Dimensions=\"{}\" Type=\"HyperSlab\">\
         <DataItem Dimensions=\"3 {n}\" Format=\"XML\">{} {} {}</DataItem>\
         <DataItem Dimensions=\"{}\" NumberType=\"Float\" Precision=\"8\" Format=\"HDF\">{file}:{path}</DataItem>\
         </DataItem>",
        dims(out),
        dims(start),
        dims(&vec![1; n]),
        dims(count),
        dims(shape)
    )
}

fn attribute(name: &str, kind: &str, center: &str, item: &str) -> String {
    format!(
        "    <Attribute Name=\"{}\" AttributeType=\"{kind}\" Center=\"{center}\">{item}</Attribute>\n",
        escape(name)
    )
}

/// Names of the last axis of `path` (attribute `names`), or `class k`.
fn class_names(r: &Reader, path: &str, n: usize) -> Vec<String> {
    let group = path.rsplit_once('/').map_or("/", |(g, _)| g);
    for p in [path, group] {
        if let Ok(names) = r.read_attr_strings(p, "names")
            && names.len() == n
        {
            return names;
        }
    }
    (0..n).map(|k| format!("class {k}")).collect()
}

fn particles(r: &Reader, file: &str, out: &mut String) -> Result<(), H5Error> {
    let pos = format!("{}/position/value", schema::PARTICLES_CELLS);
    if r.kind(&pos).is_none() {
        return Ok(());
    }
    let shape = r.shape(&pos)?;
    let [frames, n, 3] = shape[..] else {
        return Ok(());
    };
    let (times, _) = r.read_f64(&format!("{}/position/time", schema::PARTICLES_CELLS))?;
    let vel = format!("{}/velocity/value", schema::PARTICLES_CELLS);
    let has_vel = r.kind(&vel).is_some() && r.shape(&vel)? == shape;
    let mut fixed = String::new();
    for (name, path) in [
        ("species", schema::PARTICLES_CELLS_SPECIES),
        ("id", schema::PARTICLES_CELLS_ID),
        ("diameter", schema::PARTICLES_CELLS_DIAMETER),
        ("density", schema::PARTICLES_CELLS_DENSITY),
        ("final_status", schema::PARTICLES_CELLS_FINAL_STATUS),
    ] {
        if r.kind(path).is_some() && r.shape(path)? == [n] {
            fixed.push_str(&attribute(name, "Scalar", "Node", &whole(r, file, path)?));
        }
    }
    let _ = writeln!(
        out,
        "  <Grid Name=\"cells\" GridType=\"Collection\" CollectionType=\"Temporal\">"
    );
    for (i, t) in times.iter().enumerate().take(frames) {
        let _ = writeln!(out, "   <Grid Name=\"cells\" GridType=\"Uniform\">");
        let _ = writeln!(out, "    <Time Value=\"{t:e}\"/>");
        let _ = writeln!(
            out,
            "    <Topology TopologyType=\"Polyvertex\" NumberOfElements=\"{n}\" NodesPerElement=\"1\"/>"
        );
        let _ = writeln!(
            out,
            "    <Geometry GeometryType=\"XYZ\">{}</Geometry>",
            slab(file, &pos, &shape, &[i, 0, 0], &[1, n, 3], &[n, 3])
        );
        if has_vel {
            out.push_str(&attribute(
                "velocity",
                "Vector",
                "Node",
                &slab(file, &vel, &shape, &[i, 0, 0], &[1, n, 3], &[n, 3]),
            ));
        }
        out.push_str(&fixed);
        let _ = writeln!(out, "   </Grid>");
    }
    let _ = writeln!(out, "  </Grid>");
    Ok(())
}

fn radial_field(r: &Reader, file: &str, out: &mut String) -> Result<(), H5Error> {
    let value = format!("{}/value", schema::FIELDS_VOLUME_FRACTION);
    if r.kind(&value).is_none() || r.kind(schema::FIELDS_RADIUS_M).is_none() {
        return Ok(());
    }
    let shape = r.shape(&value)?;
    let [frames, nr, classes] = shape[..] else {
        return Ok(());
    };
    if r.shape(schema::FIELDS_RADIUS_M)? != [nr] {
        return Ok(());
    }
    let (times, _) = r.read_f64(&format!("{}/time", schema::FIELDS_VOLUME_FRACTION))?;
    let names = class_names(r, &value, classes);
    let radius = whole(r, file, schema::FIELDS_RADIUS_M)?;
    let zero = "<DataItem Dimensions=\"1\" NumberType=\"Float\" Precision=\"8\" Format=\"XML\">0</DataItem>";
    let _ = writeln!(
        out,
        "  <Grid Name=\"radial_field\" GridType=\"Collection\" CollectionType=\"Temporal\">"
    );
    for (i, t) in times.iter().enumerate().take(frames) {
        let _ = writeln!(out, "   <Grid Name=\"radial_field\" GridType=\"Uniform\">");
        let _ = writeln!(out, "    <Time Value=\"{t:e}\"/>");
        let _ = writeln!(
            out,
            "    <Topology TopologyType=\"3DRectMesh\" Dimensions=\"1 1 {nr}\"/>"
        );
        let _ = writeln!(
            out,
            "    <Geometry GeometryType=\"VXVYVZ\">{radius}{zero}{zero}</Geometry>"
        );
        for (k, name) in names.iter().enumerate() {
            out.push_str(&attribute(
                &format!("volume_fraction {name}"),
                "Scalar",
                "Node",
                &slab(file, &value, &shape, &[i, 0, k], &[1, nr, 1], &[1, 1, nr]),
            ));
        }
        let _ = writeln!(out, "   </Grid>");
    }
    let _ = writeln!(out, "  </Grid>");
    Ok(())
}

fn channel(r: &Reader, file: &str, out: &mut String) -> Result<(), H5Error> {
    let (rad, along) = (
        schema::FIELDS_CHANNEL_RADIUS_M,
        schema::FIELDS_CHANNEL_ALONG_M,
    );
    if r.kind(rad).is_none() || r.kind(along).is_none() {
        return Ok(());
    }
    let nr = r.shape(rad)?.iter().product::<usize>();
    let k = r.shape(along)?.iter().product::<usize>();
    let mut attrs = String::new();
    let hct = schema::FIELDS_CHANNEL_HEMATOCRIT;
    if r.kind(hct).is_some() && r.shape(hct)? == [k, nr] {
        attrs.push_str(&attribute(
            "hematocrit",
            "Scalar",
            "Node",
            &whole(r, file, hct)?,
        ));
    }
    let vf = schema::FIELDS_CHANNEL_VOLUME_FRACTION;
    if r.kind(vf).is_some() {
        let shape = r.shape(vf)?;
        if let [kk, nn, classes] = shape[..]
            && kk == k
            && nn == nr
        {
            for (c, name) in class_names(r, vf, classes).iter().enumerate() {
                attrs.push_str(&attribute(
                    &format!("volume_fraction {name}"),
                    "Scalar",
                    "Node",
                    &slab(file, vf, &shape, &[0, 0, c], &[k, nr, 1], &[k, nr]),
                ));
            }
        }
    }
    let _ = writeln!(out, "  <Grid Name=\"channel\" GridType=\"Uniform\">");
    let _ = writeln!(
        out,
        "    <Topology TopologyType=\"2DRectMesh\" Dimensions=\"{k} {nr}\"/>"
    );
    let _ = writeln!(
        out,
        "    <Geometry GeometryType=\"VXVY\">{}{}</Geometry>",
        whole(r, file, rad)?,
        whole(r, file, along)?
    );
    out.push_str(&attrs);
    let _ = writeln!(out, "  </Grid>");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sidecar_names() {
        assert_eq!(sidecar_path(Path::new("a/run.h5")), Path::new("a/run.xmf"));
        assert_eq!(sidecar_path(Path::new("run.out")), Path::new("run.out.xmf"));
        assert_eq!(escape("a<b>&\"c\""), "a&lt;b&gt;&amp;&quot;c&quot;");
    }
}
