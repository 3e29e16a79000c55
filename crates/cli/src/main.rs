//! The `buffycoat` command-line program.

use anyhow::{Context, Result};
use buffycoat::input::{self, library};
use buffycoat::run::{self, RunOptions};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Centrifugal separation physics for leukapheresis: cells of known density and size under
/// rotating-frame forces, hindered settling, outputs in HDF5 (H5MD).
#[derive(Debug, Parser)]
#[command(name = "buffycoat", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a scenario: writes an HDF5 (H5MD) file and prints a summary.
    Run {
        /// Scenario file (TOML), e.g. data/scenarios/default.toml.
        scenario: PathBuf,
        /// HDF5 output file [default: <scenario name>.h5 in the current directory].
        #[arg(short, long, value_name = "OUT.h5")]
        output: Option<PathBuf>,
        /// Also write the summary as JSON to this file.
        #[arg(long, value_name = "SUMMARY.json")]
        summary: Option<PathBuf>,
        /// Override a scenario key by dotted path, e.g. --set rotor.rpm=2400 (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Worker threads [default: all cores]. Results do not depend on it.
        #[arg(long, value_name = "N")]
        threads: Option<usize>,
        /// No progress bar.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Run the built-in validation cases against analytic solutions; fails if any case fails.
    Validate,
    /// List the cell species library with sources.
    Species {
        /// Show the full source citations.
        #[arg(long)]
        sources: bool,
    },
}

fn default_output(scenario: &Path) -> PathBuf {
    let stem = scenario
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "buffycoat".into());
    PathBuf::from(format!("{stem}.h5"))
}

fn cmd_run(
    scenario: PathBuf,
    output: Option<PathBuf>,
    summary: Option<PathBuf>,
    set: Vec<String>,
    threads: Option<usize>,
    quiet: bool,
) -> Result<()> {
    let library = library::default_library().context("the bundled species library is invalid")?;
    let loaded = input::load(&scenario, &set, &library)?;
    if threads == Some(0) {
        anyhow::bail!("--threads must be at least 1");
    }
    let opts = RunOptions {
        output: Some(output.unwrap_or_else(|| default_output(&scenario))),
        summary,
        threads,
        progress: !quiet,
    };
    let summary = run::run(&loaded, &opts)?;
    print!("{}", summary.to_text());
    if let Some(path) = &opts.summary {
        println!("summary: {}", path.display());
    }
    Ok(())
}

fn cmd_validate() -> Result<bool> {
    let checks = buffycoat::validate::all_checks();
    print!("{}", buffycoat::validate::table(&checks));
    Ok(checks.iter().all(|c| c.passed()))
}

fn cmd_species(sources: bool) -> Result<()> {
    let library = library::default_library().context("the bundled species library is invalid")?;
    println!(
        "{:<12} {:<26} {:>14} {:>16} {:>12} {:>6} {:>22}",
        "name",
        "display name",
        "density [g/mL]",
        "volume [fL]",
        "diameter [µm]",
        "χ",
        "normal range [/µL]"
    );
    for s in library.iter() {
        let range = s
            .normal_per_ul
            .map_or_else(|| "–".to_string(), |(lo, hi)| format!("{lo:.3e}–{hi:.3e}"));
        println!(
            "{:<12} {:<26} {:>7.4} ± {:<5.4} {:>8.1} ± {:<6.1} {:>12.2} {:>6.3} {:>22}",
            s.name,
            s.display_name,
            s.density.mean() / 1000.0,
            s.density.sd() / 1000.0,
            s.mean_volume() * 1e18,
            s.size_volume_sd_fl(),
            s.mean_diameter() * 1e6,
            s.shape_factor,
            range
        );
        if sources {
            println!("    source: {}", s.source.replace('\n', " "));
        }
    }
    if !sources {
        println!("(buffycoat species --sources prints the citations)");
    }
    Ok(())
}

/// Volume spread in fL for display.
trait VolumeSpread {
    fn size_volume_sd_fl(&self) -> f64;
}

impl VolumeSpread for buffycoat_physics::species::Species {
    fn size_volume_sd_fl(&self) -> f64 {
        use buffycoat_physics::species::SizeDistribution;
        match &self.size {
            SizeDistribution::Volume(v) => v.sd() * 1e18,
            // For a diameter distribution, propagate to first order: σ_V ≈ (π/2) d² σ_d.
            SizeDistribution::Diameter(d) => {
                std::f64::consts::FRAC_PI_2 * d.mean() * d.mean() * d.sd() * 1e18
            }
        }
    }
}

/// The error and its causes, each cause added only if the message does not already say it
/// (typed errors often quote their source in their own message).
fn error_chain(e: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if message.is_empty() {
            message = text;
        } else if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
    }
    message
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run {
            scenario,
            output,
            summary,
            set,
            threads,
            quiet,
        } => cmd_run(scenario, output, summary, set, threads, quiet).map(|()| true),
        Command::Validate => cmd_validate(),
        Command::Species { sources } => cmd_species(sources).map(|()| true),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {}", error_chain(&e));
            ExitCode::FAILURE
        }
    }
}
