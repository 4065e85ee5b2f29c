//! Which plain YAML scalars are not strings: written once for the escaper, which must
//! not print one unquoted, and for the input checks, which refuse a Kubernetes name that
//! YAML 1.1 or 1.2 would read as a boolean, null, number or date.

/// Whether YAML 1.1 or 1.2 would read the plain scalar `value` (letters, digits, `_./-`)
/// as something other than a string: a boolean, null, number or date, or only
/// indicators.
pub(crate) fn typed(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    let number = lower.trim_start_matches(['-', '+']).replace('_', "");
    matches!(
        lower.as_str(),
        "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
    ) || value.bytes().all(|b| b == b'-' || b == b'.')
        || number.parse::<f64>().is_ok()
        || number.starts_with(['.', '0'])
            && number.trim_start_matches(['.', '0']).parse::<f64>().is_ok()
        || ["0x", "0o", "0b", ".inf", ".nan"]
            .iter()
            .any(|p| number.starts_with(p))
        || value.len() >= 5 && value[..4].bytes().all(|b| b.is_ascii_digit()) && &value[4..5] == "-"
}
