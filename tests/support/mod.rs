//! Shared test support: tests that need a program the machine may lack (headless Chromium, Java
//! with Flink's jars).
//!
//! On a developer's machine such a test prints one line saying it was skipped and how to enable
//! it, and passes, so the README's test command works with only the Rust toolchain. With `CI` set
//! (any value but empty, `0` or `false`) a missing program fails the test instead, so CI can
//! never skip it silently.

/// Whether this run is CI's, where nothing may be skipped.
pub fn running_in_ci() -> bool {
    match std::env::var("CI") {
        Ok(value) => !matches!(value.trim(), "" | "0" | "false"),
        Err(_) => false,
    }
}

/// Call when `what` is missing: outside CI prints the skip line (naming `how_to_enable`) and
/// returns, so the caller returns too; in CI panics with the same text.
pub fn skip_or_fail(test: &str, what: &str, how_to_enable: &str) {
    let line = format!("{test}: skipped: {what} is not available; to enable it, {how_to_enable}");
    if running_in_ci() {
        panic!("CI is set, so this test may not be skipped. {line}");
    }
    println!("{line}");
    eprintln!("{line}");
}
