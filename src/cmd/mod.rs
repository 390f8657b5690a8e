//! One module per subcommand: each wires library steps together and prints the result.

pub mod build;
pub mod diff;
pub mod push;
pub mod schema;
pub mod validate;
