//! H5MD 1.1 conventions beyond plain attributes: `unit` attributes as fixed-length ASCII
//! strings and the units module (`/h5md/modules/units`).
//!
//! H5MD 1.1 (de Buyl, Colberg & Höfling, *Comput. Phys. Commun.* 185:1546, 2014;
//! <https://www.nongnu.org/h5md/modules/units.html>) declares physical units through the
//! **units module**: a group `/h5md/modules/units` with attributes `version` = [1, 0] and
//! `system` = "SI", and on each dataset holding a dimensional quantity an attribute `unit`,
//! a *fixed-length ASCII string* such as `"m"`, `"m s-1"` or `"kg m-3"` (products of powers
//! of unit symbols separated by spaces, `"1"` for dimensionless). Readers such as pyh5md
//! read units only in this form.
//!
//! Unit strings given in Unicode are transliterated to ASCII (`µ` → `u`, as UDUNITS spells
//! the micro prefix): `cells/µL` is stored as `cells/uL`.

use hdf5::Location;
use hdf5::types::{FixedAscii, TypeDescriptor};

/// Longest unit string (bytes); longer ones are an error.
pub const MAX_UNIT_LEN: usize = 64;

/// Version of the H5MD units module the files follow.
pub const UNITS_MODULE_VERSION: [i32; 2] = [1, 0];

/// `unit` as ASCII: `µ`/`μ` become `u`; any other non-ASCII character is an error.
pub fn ascii_unit(unit: &str) -> Result<String, String> {
    let ascii: String = unit
        .chars()
        .map(|c| match c {
            'µ' | 'μ' => 'u',
            c => c,
        })
        .collect();
    if !ascii.is_ascii() {
        return Err(format!("unit {unit:?} is not ASCII"));
    }
    if ascii.len() > MAX_UNIT_LEN {
        return Err(format!("unit {unit:?} is longer than {MAX_UNIT_LEN} bytes"));
    }
    Ok(ascii)
}

/// Sets the `unit` attribute of `loc` (replacing one) as a fixed-length ASCII string of
/// exactly the unit's length (null-padded type, as pyh5md writes it).
pub(crate) fn put_unit(loc: &Location, unit: &str) -> hdf5::Result<()> {
    let ascii = ascii_unit(unit).map_err(hdf5::Error::from)?;
    let fixed = FixedAscii::<MAX_UNIT_LEN>::from_ascii(ascii.as_bytes())
        .map_err(|e| hdf5::Error::from(e.to_string()))?;
    if loc.attr_names()?.iter().any(|n| n == "unit") {
        loc.delete_attr("unit")?;
    }
    let value = ndarray::arr0(fixed);
    loc.new_attr_builder()
        .with_data_as(
            value.view(),
            &TypeDescriptor::FixedAscii(ascii.len().max(1)),
        )
        .create("unit")?;
    Ok(())
}

/// Declares the units module in the `/h5md` group `h5md`: `modules/units` with `version` and
/// `system` = "SI".
pub(crate) fn declare_units_module(h5md: &hdf5::Group) -> hdf5::Result<()> {
    let modules = if h5md.link_exists("modules") {
        h5md.group("modules")?
    } else {
        h5md.create_group("modules")?
    };
    let units = if modules.link_exists("units") {
        modules.group("units")?
    } else {
        modules.create_group("units")?
    };
    if !units.attr_names()?.iter().any(|n| n == "version") {
        units
            .new_attr::<i32>()
            .shape([2])
            .create("version")?
            .write_raw(&UNITS_MODULE_VERSION)?;
    }
    if !units.attr_names()?.iter().any(|n| n == "system") {
        let system =
            FixedAscii::<2>::from_ascii(b"SI").map_err(|e| hdf5::Error::from(e.to_string()))?;
        units
            .new_attr::<FixedAscii<2>>()
            .shape(())
            .create("system")?
            .write_scalar(&system)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_become_ascii() {
        assert_eq!(ascii_unit("cells/µL").unwrap(), "cells/uL");
        assert_eq!(ascii_unit("m s-1").unwrap(), "m s-1");
        assert!(ascii_unit("°C").is_err());
        assert!(ascii_unit(&"m".repeat(MAX_UNIT_LEN + 1)).is_err());
    }
}
