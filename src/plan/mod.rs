//! `diff` and `push`: compare what the bundles declare with what Gate holds (`compare`),
//! decide what to do about each pipeline and why (`planner`, pure), print it (`render`),
//! carry it out safely (`apply`), and the two commands end to end (`run`).

pub mod apply;
pub mod compare;
pub mod planner;
pub mod render;
pub mod run;
