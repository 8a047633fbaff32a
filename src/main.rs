//! The command-line interface (placeholder while the library takes shape).

fn main() {}
