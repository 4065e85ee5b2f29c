//! How certificate times read wherever they are shown (verify, doctor, inspect,
//! generate's checks, webpki refusals): written once.

use time::OffsetDateTime;

/// How a certificate's end of validity reads.
pub(crate) fn expired_on(not_after: OffsetDateTime) -> String {
    format!("expired on {}", not_after.date())
}

/// A certificate whose validity has not begun.
pub(crate) fn not_valid_before(not_before: OffsetDateTime) -> String {
    format!("not valid before {}", show_time(not_before))
}

/// A certificate that expires soon: `left` whole days.
pub(crate) fn expires_in(left: i64, not_after: OffsetDateTime) -> String {
    format!("expires in {left} day(s), on {}", not_after.date())
}

/// Days left as inspect lists them.
pub(crate) fn days_left(left: i64) -> String {
    if left < 0 {
        format!("EXPIRED {} day(s) ago", -left)
    } else {
        format!("{left} day(s) left")
    }
}

/// `2026-11-27 06:31:51 UTC`: how the text reports show a time.
pub(crate) fn show_time(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    t.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_else(|_| t.to_string())
}
