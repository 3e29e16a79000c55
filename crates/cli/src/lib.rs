//! The buffycoat command-line program: scenario files, run, validate, species.
