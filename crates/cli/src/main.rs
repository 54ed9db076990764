//! The `soberana` binary.
fn main() {}
