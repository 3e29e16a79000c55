//! Eulerian hindered, polydisperse sedimentation (work in progress by the field-solver engineer).
