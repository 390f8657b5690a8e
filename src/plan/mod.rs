//! `diff` and `push`: what Gate holds, read with few requests and kept small (`read`,
//! `remote`); the declared pipelines, kept as compact text (`packed`); compare it with what the bundles declare (`compare`); decide what to do about
//! each pipeline and why (`planner`, pure); print it for people (`render`), CI (`json`)
//! and pull requests (`markdown`); carry it out safely and read it back (`apply`); and the
//! two commands end to end (`run`).

pub mod apply;
pub mod compare;
pub mod json;
pub mod markdown;
pub mod packed;
pub mod parallel;
pub mod planner;
pub mod read;
pub mod remote;
pub mod render;
pub mod run;
