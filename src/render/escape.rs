//! One escaping function per output format, and the auto-escaping that applies them: every
//! template is rendered for the format of the file it makes (chosen by its name, see
//! `auto_escape`), and every value it prints goes through that format's escaper unless it
//! is a number, a boolean, or a string an escaping filter already made safe.
//! A value that a format cannot carry safely is refused, never mangled.

use minijinja::value::{Value, ValueKind};
use minijinja::{AutoEscape, Error, ErrorKind, Output, State};

use crate::config::envrules::env_safe;

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
pub(crate) fn acl(value: &str) -> Result<String, String> {
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
    crate::printable::sh_quote(value)
}

/// A word for a pasted command line: the one quoting rule, kept with the other
/// printed text (`printable`), which readback's messages use too.
pub(crate) use crate::printable::sh_word;

/// Markdown text (a heading, a table cell): the characters that start emphasis, code,
/// links, HTML or a table cell escaped with a backslash; a line break refused.
pub(crate) fn markdown(value: &str) -> Result<String, String> {
    if value.chars().any(char::is_control) {
        return Err(format!("{value:?} cannot be written in Markdown"));
    }
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|') {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(out)
}

/// Java-style `.properties` values (the guide's `redis.host=...` form).
pub(crate) fn properties(value: &str) -> String {
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

/// The output formats templates are rendered for.
const CONF: &str = "redis.conf";
const ACL: &str = "users.acl";
const ENV: &str = ".env";
const PROPERTIES: &str = "properties";
const COMPOSE: &str = "compose";
const YAML: &str = "yaml";
const SH: &str = "sh";
const MARKDOWN: &str = "markdown";

/// The escaping of a template, by its name (the file it makes). A name this does not know
/// gets a format no value can be printed in, so a new template fails closed until it is
/// given one.
pub(crate) fn auto_escape(template: &str) -> AutoEscape {
    let format = match template {
        "redis.conf" | "replication.conf" => CONF,
        "users.acl" => ACL,
        ".env" | "admin.env" | "metrics.env" => ENV,
        "redis.properties" => PROPERTIES,
        "docker-compose.yml" | "docker-compose-cluster.yml" => COMPOSE,
        "kustomization.yaml" => YAML,
        t if t.starts_with("manifests/") => YAML,
        "README.md" => MARKDOWN,
        "cluster-create.sh" | "node-start.sh" | "start.sh" | "reload.sh" | "healthcheck.sh" => SH,
        _ => "unknown",
    };
    AutoEscape::Custom(format.into())
}

fn format_of<'s>(state: &'s State<'_, '_>) -> &'s str {
    match state.auto_escape() {
        AutoEscape::Custom(name) => name,
        _ => "none",
    }
}

fn refused(msg: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg)
}

/// The formatter of every template: booleans as every format here spells them (`true`),
/// numbers as they are, strings escaped for the template's format unless already safe;
/// anything else (none, lists, maps) is refused rather than printed in Python's spelling.
pub(crate) fn formatter(out: &mut Output, state: &mut State, value: &Value) -> Result<(), Error> {
    let text = match value.kind() {
        ValueKind::Bool => value.is_true().to_string(),
        ValueKind::Number => value.to_string(),
        ValueKind::String if value.is_safe() => value.to_string(),
        ValueKind::String => escape_for(format_of(state), value.as_str().unwrap_or_default())?,
        kind => return Err(refused(format!("a {kind} cannot be printed in a template"))),
    };
    out.write_str(&text).map_err(Error::from)
}

/// `value` escaped for `format`.
fn escape_for(format: &str, value: &str) -> Result<String, Error> {
    match format {
        CONF => Ok(conf(value)),
        ACL => acl(value).map_err(refused),
        ENV => env(value).map_err(refused),
        PROPERTIES => Ok(properties(value)),
        COMPOSE => Ok(compose(value)),
        // Kubernetes manifests: names, paths and labels are printed as plain scalars, and
        // whatever is not one is refused; values are quoted with the `q` filter.
        YAML => plain(YAML, value),
        SH => Ok(sh(value)),
        MARKDOWN => markdown(value).map_err(refused),
        other => Err(refused(format!(
            "no escaping is defined for the format {other}: {value:?} cannot be printed"
        ))),
    }
}

/// `value` unquoted, if the format reads it back unchanged as one word; refused otherwise.
fn plain(format: &str, value: &str) -> Result<String, Error> {
    let word = |extra: &[u8]| {
        !value.is_empty()
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
    };
    let ok = match format {
        // sdssplitargs splits on blanks and reads quotes and backslashes; `#` starts a comment.
        CONF => {
            !value.starts_with('#')
                && value
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\\' | b'\''))
                && !value.is_empty()
        }
        ACL => acl(value).is_ok(),
        ENV => word(b"_./:,@%+-"),
        PROPERTIES => word(b"_./-"),
        SH => word(b"_./:,=@%+-"),
        // A plain YAML scalar that every YAML version reads as this string: no indicator,
        // not a number, boolean or null.
        COMPOSE | YAML => word(b"_./-") && !crate::config::yamlscalar::typed(value),
        _ => false,
    };
    if ok {
        Ok(value.to_owned())
    } else {
        Err(refused(format!(
            "{value:?} cannot be written unquoted in {format}"
        )))
    }
}

/// `|bare`: a word printed unquoted where the format's quoting would change it (a key, a
/// path joined to a literal suffix, a bind address); refused unless it needs no quoting.
pub(crate) fn bare_filter(state: &State, value: &str) -> Result<Value, Error> {
    plain(format_of(state), value).map(Value::from_safe_string)
}

/// `|words`: a list of `|bare` words, separated by spaces (a directive's arguments).
pub(crate) fn words_filter(state: &State, values: Vec<String>) -> Result<Value, Error> {
    let format = format_of(state);
    let words = values
        .iter()
        .map(|v| plain(format, v))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Value::from_safe_string(words.join(" ")))
}

/// `|code`: a Markdown code span, fenced with more backticks than the value has in a
/// row; control characters refused.
pub(crate) fn code_filter(value: &str) -> Result<Value, Error> {
    if value.chars().any(char::is_control) {
        return Err(refused(format!("{value:?} cannot be written in Markdown")));
    }
    let longest = value.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if value.starts_with('`') || value.ends_with('`') {
        " "
    } else {
        ""
    };
    Ok(Value::from_safe_string(format!(
        "{fence}{pad}{value}{pad}{fence}"
    )))
}

/// `|sh`: a shell word inside another format (a command shown in Markdown).
pub(crate) fn sh_filter(value: &str) -> Value {
    Value::from_safe_string(sh(value))
}

/// `|comment`: text inside a comment line of any format: printed as it is, refused if it
/// has a control character (a line break would end the comment).
pub(crate) fn comment_filter(value: &str) -> Result<Value, Error> {
    if value.chars().any(char::is_control) {
        Err(refused(format!("{value:?} cannot be written in a comment")))
    } else {
        Ok(Value::from_safe_string(value.to_owned()))
    }
}

/// `|dq`: text inside a double-quoted shell string: `$`, `` ` ``, `"` and `\` escaped
/// with a backslash, control characters refused.
pub(crate) fn dq_filter(value: &str) -> Result<Value, Error> {
    if value.chars().any(char::is_control) {
        return Err(refused(format!(
            "{value:?} cannot be written in a shell string"
        )));
    }
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '$' | '`' | '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(Value::from_safe_string(out))
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

    /// `source` rendered as the template `name` with `v` as `v`, in the environment every
    /// output uses.
    fn render_as(
        templates: &'static [(&'static str, &'static str)],
        v: &str,
    ) -> Result<String, String> {
        let env = crate::render::environment_with(templates).map_err(|e| e.to_string())?;
        env.get_template(templates[0].0)
            .and_then(|t| t.render(minijinja::context! { v, n => 7, yes => true }))
            .map_err(|e| format!("{e:#}"))
    }

    #[test]
    fn a_bare_value_is_escaped_for_its_file() {
        let ok = |t, v| render_as(t, v).unwrap();
        assert_eq!(
            ok(
                &[("redis.conf", "dir {{ v }} {{ n }} {{ yes }}")],
                "/a b\"c"
            ),
            r#"dir "/a b\"c" 7 true"#
        );
        assert_eq!(ok(&[(".env", "X={{ v }}")], "a b"), "X='a b'");
        assert_eq!(ok(&[("admin.env", "X={{ v }}")], "a_b"), "X=a_b");
        assert_eq!(
            ok(&[("cluster-create.sh", "echo {{ v }}")], "it's"),
            r"echo 'it'\''s'"
        );
        assert_eq!(ok(&[("start.sh", "echo {{ v }}")], "$x"), "echo '$x'");
        assert_eq!(ok(&[("redis.properties", "a={{ v }}")], "x=y"), r"a=x\=y");
        assert_eq!(
            ok(&[("docker-compose.yml", "k: {{ v }}")], "$a"),
            r#"k: "$$a""#
        );
        assert_eq!(
            ok(&[("manifests/service.yaml", "k: {{ v }}")], "redis-0.x"),
            "k: redis-0.x"
        );
        assert_eq!(
            ok(&[("users.acl", "user {{ v }} on")], "kimera_user"),
            "user kimera_user on"
        );
    }

    #[test]
    fn what_a_format_cannot_carry_is_refused() {
        let err = |t, v| render_as(t, v).unwrap_err();
        assert!(
            err(&[("users.acl", "user {{ v }} on")], "a b")
                .contains("cannot be written to users.acl")
        );
        assert!(err(&[(".env", "X={{ v }}")], "it's").contains("cannot be written to .env"));
        assert!(
            err(&[("manifests/service.yaml", "k: {{ v }}")], "a: b")
                .contains("cannot be written unquoted")
        );
        assert!(
            err(&[("manifests/service.yaml", "k: {{ v }}")], "true")
                .contains("cannot be written unquoted")
        );
        assert!(
            err(&[("redis.conf", "x {{ v | bare }}")], "a b").contains("unquoted in redis.conf")
        );
        assert!(err(&[("start.sh", "x={{ v | bare }}/y")], "$(id)").contains("unquoted in sh"));
        assert!(
            err(&[("redis.conf", "# {{ v | comment }}")], "a\nsave x").contains("in a comment")
        );
        assert!(err(&[("redis.conf", "{{ [v] }}")], "a").contains("cannot be printed"));
        assert!(err(&[("redis.conf", "{{ none }}")], "a").contains("cannot be printed"));
    }

    #[test]
    fn a_template_without_a_format_prints_no_string() {
        assert!(
            render_as(&[("notes.txt", "{{ v }}")], "a")
                .unwrap_err()
                .contains("no escaping is defined")
        );
        assert_eq!(render_as(&[("notes.txt", "{{ n }}")], "a").unwrap(), "7");
    }

    #[test]
    fn filters_give_the_form_a_place_needs() {
        let ok = |t, v| render_as(t, v).unwrap();
        assert_eq!(
            ok(&[("redis.conf", "bind {{ [v, \"-::1\"] | words }}")], "*"),
            "bind * -::1"
        );
        assert_eq!(
            ok(&[("start.sh", "x={{ v | bare }}/y")], "/etc/k"),
            "x=/etc/k/y"
        );
        assert_eq!(
            ok(
                &[("cluster-create.sh", "echo \"{{ v | dq }}\"")],
                "a$b`c\"d\\"
            ),
            r#"echo "a\$b\`c\"d\\""#
        );
        assert_eq!(
            ok(&[("manifests/service.yaml", "# {{ v | comment }}")], "a: b"),
            "# a: b"
        );
        assert_eq!(
            ok(
                &[("manifests/service.yaml", "{{ (\"  \" * n) | safe }}x")],
                ""
            ),
            "              x"
        );
    }

    #[test]
    fn markdown_text_code_spans_and_shell_lines() {
        assert_eq!(markdown("a_b|c*").unwrap(), r"a\_b\|c\*");
        assert!(markdown("a\n# b").is_err());
        let ok = |t, v| render_as(t, v).unwrap();
        assert_eq!(
            ok(&[("README.md", "{{ v }} {{ v | code }}")], "x`y"),
            "x\\`y ``x`y``"
        );
        assert_eq!(ok(&[("README.md", "{{ v | code }}")], "`a"), "`` `a ``");
        assert_eq!(ok(&[("README.md", "{{ v | sh }}")], "it's"), r"'it'\''s'");
    }

    #[test]
    fn yaml_scalars_that_are_not_strings_are_caught() {
        for typed in [
            "yes",
            "No",
            "null",
            "123",
            "-1",
            "1_000",
            "1e3",
            "0x1f",
            "0o7",
            ".inf",
            "-",
            "2024-01-02",
            "007",
        ] {
            assert!(crate::config::yamlscalar::typed(typed), "{typed}");
        }
        for string in [
            "redis",
            "10.0.0.1-7001",
            "--1-7001",
            "/data",
            "redis-0.redis-headless",
            "v1.2.3",
            "a1",
        ] {
            assert!(!crate::config::yamlscalar::typed(string), "{string}");
        }
    }
}
