//! The `pluriverse` command.
fn main() {}
