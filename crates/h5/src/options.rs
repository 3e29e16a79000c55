//! How a [`Writer`](crate::Writer) stores its large datasets: the compression filter.
//!
//! Every filter offered here is one that a stock h5py reads without plugins: HDF5's built-in
//! byte shuffle and deflate (zlib), and LZF, which h5py registers itself on import (filter id
//! 32000, the format of h5py's `lzf_filter.c`). Filters change only how bytes are stored: the
//! decoded datasets are bitwise identical whatever the setting (tested).

use std::fmt;
use std::str::FromStr;

/// Default deflate level of [`Compression::parse`] when none is given (zlib's own default is
/// 6; 4 is within a few per cent of its ratio on simulation data at about 1.5 × its speed).
pub const DEFAULT_DEFLATE_LEVEL: u8 = 4;

/// The compression filter of chunked datasets (time series and fixed datasets over 8 KiB).
///
/// Small datasets (strings, scalars, fixed datasets up to 8 KiB) are always stored
/// uncompressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Compression {
    /// No filter: bytes are stored as they are. The default: the fastest to write and read.
    /// Time series are still chunked (they grow frame by frame); fixed datasets are contiguous.
    #[default]
    None,
    /// zlib deflate (HDF5 filter 1) at `level` 1–9, after HDF5's byte shuffle (filter 2) when
    /// `shuffle` is set (shuffle groups the bytes of equal significance of every value, which
    /// helps on numeric arrays).
    Deflate {
        /// zlib level, 1 (fastest) to 9 (smallest)
        level: u8,
        /// byte shuffle before deflate
        shuffle: bool,
    },
    /// LZF (filter 32000, as registered by h5py and PyTables), after the byte shuffle when
    /// `shuffle` is set: several times faster than deflate at a lower ratio.
    Lzf {
        /// byte shuffle before LZF
        shuffle: bool,
    },
}

impl Compression {
    /// Every accepted spelling, for error messages.
    pub const ALLOWED: &'static str = "\"none\", \"lzf\", \"shuffle+lzf\", \"deflate\", \
         \"deflate:LEVEL\", \"shuffle+deflate\" or \"shuffle+deflate:LEVEL\" (LEVEL 1–9)";

    /// Parses `none`, `lzf`, `shuffle+lzf`, `deflate`, `deflate:LEVEL`, `shuffle+deflate` or
    /// `shuffle+deflate:LEVEL` (LEVEL 1–9, default [`DEFAULT_DEFLATE_LEVEL`]).
    ///
    /// # Errors
    /// A message naming the allowed values.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("{text:?} is not a compression: allowed {}", Self::ALLOWED);
        let (shuffle, rest) = match text.strip_prefix("shuffle+") {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (name, level) = match rest.split_once(':') {
            Some((name, level)) => (name, Some(level)),
            None => (rest, None),
        };
        match (name, level) {
            ("none", None) if !shuffle => Ok(Self::None),
            ("lzf", None) => Ok(Self::Lzf { shuffle }),
            ("deflate", None) => Ok(Self::Deflate {
                level: DEFAULT_DEFLATE_LEVEL,
                shuffle,
            }),
            ("deflate", Some(level)) => match level.parse::<u8>() {
                Ok(level @ 1..=9) => Ok(Self::Deflate { level, shuffle }),
                _ => Err(bad()),
            },
            _ => Err(bad()),
        }
    }

    /// True when data pass through a filter (anything but [`Compression::None`]).
    pub fn is_filtered(&self) -> bool {
        !matches!(self, Self::None)
    }
}

impl FromStr for Compression {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::parse(s)
    }
}

impl fmt::Display for Compression {
    /// The spelling [`Compression::parse`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shuffle = |s: bool| if s { "shuffle+" } else { "" };
        match *self {
            Self::None => f.write_str("none"),
            Self::Deflate { level, shuffle: s } => write!(f, "{}deflate:{level}", shuffle(s)),
            Self::Lzf { shuffle: s } => write!(f, "{}lzf", shuffle(s)),
        }
    }
}

/// Options of [`Writer::create_with`](crate::Writer::create_with).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct WriterOptions {
    /// filter of chunked datasets; default [`Compression::None`]
    pub compression: Compression,
}

impl WriterOptions {
    /// Options with this compression.
    pub fn with_compression(compression: Compression) -> Self {
        Self { compression }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_spelling_and_prints_it_back() {
        for (text, c) in [
            ("none", Compression::None),
            ("lzf", Compression::Lzf { shuffle: false }),
            ("shuffle+lzf", Compression::Lzf { shuffle: true }),
            (
                "deflate",
                Compression::Deflate {
                    level: DEFAULT_DEFLATE_LEVEL,
                    shuffle: false,
                },
            ),
            (
                "shuffle+deflate:1",
                Compression::Deflate {
                    level: 1,
                    shuffle: true,
                },
            ),
            (
                "deflate:9",
                Compression::Deflate {
                    level: 9,
                    shuffle: false,
                },
            ),
        ] {
            assert_eq!(Compression::parse(text), Ok(c), "{text}");
            assert_eq!(Compression::parse(&c.to_string()), Ok(c), "{c}");
        }
        for bad in [
            "",
            "gzip",
            "deflate:0",
            "deflate:10",
            "deflate:",
            "lzf:3",
            "shuffle+none",
            "shuffle",
            "none:1",
            "Deflate",
        ] {
            let e = Compression::parse(bad).unwrap_err();
            assert!(e.contains("allowed") && e.contains("deflate:LEVEL"), "{e}");
        }
    }
}
