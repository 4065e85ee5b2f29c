//! Text that came from outside (a flag, a file of the folder, a server) shown in a message
//! with its control characters escaped: a value like `x\e[2J` would otherwise clear the
//! user's screen, and one with a newline could forge a line of the report.

use std::path::Path;

/// `text` with every control character escaped: `\e` for ESC (what terminal sequences
/// start with), `\n`, `\t`, `\r` as in Rust, the others as `\u{..}`.
pub(crate) fn text(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\u{1b}' => out.push_str("\\e"),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

/// A path, shown as `text` shows text (a path may hold any byte but `/` and NUL).
pub(crate) fn path(path: &Path) -> String {
    text(&path.display().to_string())
}

/// `value` single-quoted for a POSIX shell: nothing inside is special but the quote,
/// which is written as `'\''`.
pub(crate) fn sh_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// A word for a command line printed for the user to paste: bare when it has only
/// characters no shell treats specially, single-quoted otherwise.
pub(crate) fn sh_word(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_./:,=@%+-".contains(&b));
    if plain {
        value.to_owned()
    } else {
        sh_quote(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(text("x\u{1b}[2J.1"), "x\\e[2J.1");
        assert_eq!(text("a\nb\tc\rd"), "a\\nb\\tc\\rd");
        assert_eq!(text("\u{7f}\u{9b}"), "\\u{7f}\\u{9b}");
        assert_eq!(text("redis.example.com"), "redis.example.com");
        assert_eq!(text("naïve ✓"), "naïve ✓");
        assert_eq!(path(Path::new("/tmp/a\u{1b}b")), "/tmp/a\\eb");
    }
}
