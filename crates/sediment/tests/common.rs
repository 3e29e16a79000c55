//! Shared set-up for the sediment integration tests (re-exports of the validation helpers).
#![allow(dead_code, unused_imports)]

pub use buffycoat_sediment::validation::{
    PLASMA_DENSITY as RHO_F, PLASMA_VISCOSITY as MU, contract_tube, plasma_config as config,
    probe_relaxation as probe_tau, probe_sedimentation as probe_s, probes_at as system_at,
    trajectory, wide_sector,
};
