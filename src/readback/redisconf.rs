//! Reading redis.conf back: directives split into arguments the way Redis does it
//! (double quotes with `\\ \" \n \r \t \xHH` escapes; a line is a comment only when it
//! starts with `#`). The inverse of `escape::conf`.

/// `(directive, arguments)` for every line that is not blank or a comment; the directive
/// lowercased, as Redis compares it.
pub fn parse(text: &str) -> Vec<(String, Vec<String>)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut args = split_args(l);
            if args.is_empty() {
                return None;
            }
            let name = args.remove(0).to_ascii_lowercase();
            Some((name, args))
        })
        .collect()
}

/// The arguments of the last occurrence of `name` (single-value directives: the last wins).
pub(crate) fn get<'a>(conf: &'a [(String, Vec<String>)], name: &str) -> Option<&'a [String]> {
    conf.iter()
        .rev()
        .find(|(n, _)| n == name)
        .map(|(_, a)| a.as_slice())
}

/// The first argument of `name`, if set.
pub(crate) fn value<'a>(conf: &'a [(String, Vec<String>)], name: &str) -> Option<&'a str> {
    get(conf, name).and_then(|a| a.first()).map(String::as_str)
}

/// One line's words as Redis splits them (its `sdssplitargs`).
pub(crate) fn split_args(line: &str) -> Vec<String> {
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        let mut word = Vec::new();
        if bytes[i] == b'"' {
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                if bytes[i] == b'\\' && i + 1 < bytes.len() {
                    i += 1;
                    match bytes[i] {
                        b'n' => word.push(b'\n'),
                        b'r' => word.push(b'\r'),
                        b't' => word.push(b'\t'),
                        b'x' if i + 2 < bytes.len() => {
                            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                            match u8::from_str_radix(hex, 16) {
                                Ok(b) => {
                                    word.push(b);
                                    i += 2;
                                }
                                Err(_) => word.push(b'x'),
                            }
                        }
                        other => word.push(other),
                    }
                } else {
                    word.push(bytes[i]);
                }
                i += 1;
            }
            i += 1;
        } else if bytes[i] == b'\'' {
            // Single quotes, as Redis reads them: literal text, `\'` the only escape.
            i += 1;
            while i < bytes.len() && bytes[i] != b'\'' {
                if bytes[i] == b'\\' && bytes.get(i + 1) == Some(&b'\'') {
                    i += 1;
                }
                word.push(bytes[i]);
                i += 1;
            }
            i += 1;
        } else {
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                word.push(bytes[i]);
                i += 1;
            }
        }
        out.push(String::from_utf8_lossy(&word).into_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::escape;

    #[test]
    fn round_trips_what_escape_conf_writes() {
        for v in ["/a b/c", "x\"y\\z", "é $HOME #1", "tab\there"] {
            let line = format!("dir {}", escape::conf(v));
            assert_eq!(parse(&line), vec![("dir".to_owned(), vec![v.to_owned()])]);
        }
    }

    #[test]
    fn single_quotes_as_redis_reads_them() {
        let conf = parse("masterauth 'abc'\ndir 'a b\\'c\\n'\n");
        assert_eq!(value(&conf, "masterauth"), Some("abc"));
        assert_eq!(value(&conf, "dir"), Some("a b'c\\n"));
    }

    #[test]
    fn comments_and_last_occurrence() {
        let conf = parse("# port 1\nport 2\nPORT 3\nbind 127.0.0.1 -::1\n");
        assert_eq!(value(&conf, "port"), Some("3"));
        assert_eq!(get(&conf, "bind").unwrap(), ["127.0.0.1", "-::1"]);
    }
}
