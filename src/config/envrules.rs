//! What the app's settings class (pydantic, redis-py) accepts in `.env`: written once
//! and used on both sides, by `settings` for what this tool writes and by
//! `readback::envcheck` for what it reads back, so the two cannot disagree.

/// Whether every `.env` reader gets `value` back unchanged: no single quote, backslash,
/// `${` or control character.
pub(crate) fn env_safe(value: &str) -> bool {
    !value.contains(['\'', '\\']) && !value.contains("${") && !value.chars().any(char::is_control)
}

/// pydantic's lax bool: these words, case-insensitively, and nothing else.
pub(crate) fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "on" | "t" | "true" | "y" | "yes" => Some(true),
        "0" | "off" | "f" | "false" | "n" | "no" => Some(false),
        _ => None,
    }
}

/// A timeout a socket takes and a real network can meet (also what generate allows).
pub(crate) fn seconds_ok(s: f64) -> bool {
    s.is_finite() && (MIN_SECONDS..=MAX_SECONDS).contains(&s)
}

pub(crate) const MIN_SECONDS: f64 = 0.1;
pub(crate) const MAX_SECONDS: f64 = 3600.0;
pub(crate) const MAX_CONNECTIONS: i64 = 100_000;
pub(crate) const MAX_INTERVAL: i64 = 86_400;
