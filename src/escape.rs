//! One escaping function per output format, each registered as a template filter.
//! A value that a format cannot carry safely is refused, never mangled.

/// redis.conf: a double-quoted argument, as Redis's own CONFIG REWRITE writes it:
/// `\\` and `\"` escaped, every other byte outside printable ASCII as `\xHH`.
pub fn conf(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for b in value.bytes() {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

/// users.acl: lines are split on spaces with no quoting at all, so only a word made of
/// characters with no meaning there can go in.
pub fn acl(value: &str) -> Result<String, String> {
    let safe = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\'' | b'\\'));
    if safe {
        Ok(value.to_owned())
    } else {
        Err(format!(
            "{value:?} cannot be written to users.acl: it has no quoting"
        ))
    }
}

/// `.env`: bare when only harmless characters; otherwise single-quoted. dotenvy,
/// python-dotenv (the app's settings loader) and docker-compose all read a single-quoted
/// value literally, except that both dotenv libraries treat `\'` and `\\` as escapes and
/// python-dotenv expands `${VAR}` whatever the quoting; no quoting can carry those, so
/// such values are refused (see `env_safe`).
pub fn env(value: &str) -> Result<String, String> {
    let bare = |b: u8| b.is_ascii_alphanumeric() || b"_./:,@%+-".contains(&b);
    if value.bytes().all(bare) {
        Ok(value.to_owned())
    } else if !env_safe(value) {
        Err(format!("{value:?} cannot be written to .env safely"))
    } else {
        Ok(format!("'{value}'"))
    }
}

/// Whether every `.env` reader gets `value` back unchanged: no single quote, backslash,
/// `${` or control character.
pub fn env_safe(value: &str) -> bool {
    !value.contains(['\'', '\\']) && !value.contains("${") && !value.chars().any(char::is_control)
}

/// docker-compose.yml: a YAML double-quoted scalar, with `$` doubled so that Compose
/// does not treat it as a variable to interpolate.
pub fn compose(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '$' => out.push_str("$$"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A POSIX shell word: single quotes, with `'` written as `'\''`.
pub fn sh(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// A word for a command line printed for the user to paste: bare when it has only
/// characters no shell treats specially, single-quoted otherwise.
pub fn sh_word(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_./:,=@%+-".contains(&b));
    if plain { value.to_owned() } else { sh(value) }
}

/// Java-style `.properties` values (the guide's `redis.host=...` form).
pub fn properties(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        match c {
            '\\' => out.push_str("\\\\"),
            '=' | ':' => {
                out.push('\\');
                out.push(c);
            }
            '#' | '!' | ' ' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() || !c.is_ascii() => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conf_quotes_and_hex_escapes() {
        assert_eq!(conf("/a b/c"), r#""/a b/c""#);
        assert_eq!(conf("x\"y\\z\n"), r#""x\"y\\z\x0a""#);
        assert_eq!(conf("é"), r#""\xc3\xa9""#);
    }

    #[test]
    fn acl_refuses_what_it_cannot_carry() {
        assert_eq!(acl("kimera_user").unwrap(), "kimera_user");
        assert!(acl("a b").is_err());
        assert!(acl("a\nuser x on").is_err());
        assert!(acl("").is_err());
    }

    #[test]
    fn env_bare_single_quoted_or_refused() {
        assert_eq!(env("/tmp/x.crt").unwrap(), "/tmp/x.crt");
        assert_eq!(
            env(r#"{"redis_cache": true}"#).unwrap(),
            r#"'{"redis_cache": true}'"#
        );
        assert_eq!(env("a$b").unwrap(), "'a$b'");
        assert!(env("it's").is_err());
        assert!(env("a\nb").is_err());
    }

    #[test]
    fn compose_doubles_dollars() {
        assert_eq!(compose("a$b \"c\""), r#""a$$b \"c\"""#);
    }

    #[test]
    fn sh_single_quotes() {
        assert_eq!(sh("it's"), r"'it'\''s'");
    }

    #[test]
    fn properties_escapes_separators() {
        assert_eq!(properties("C:\\x=y"), r"C\:\\x\=y");
        assert_eq!(properties("#a"), r"\#a");
        assert_eq!(properties("é"), r"\u00e9");
    }
}
