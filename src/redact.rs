//! `Debug` that never shows a secret. Types holding a private key or a password
//! implement `Debug` by hand (beside each type) with these helpers, so one `{:?}` in a
//! log or a panic message cannot print them.

use std::collections::BTreeMap;
use std::fmt;

/// Stands where a secret would be printed.
pub(crate) struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Whether a `.env`-style key or a redis.conf directive names a secret.
pub(crate) fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "password",
        "pass",
        "masterauth",
        "secret",
        "key_pem",
        "token",
        // REDIS_URL carries the password in its user info.
        "url",
    ]
    .iter()
    .any(|s| name.contains(s))
}

/// A `.env` map with the values of secret keys replaced.
pub(crate) struct Env<'a>(pub(crate) &'a BTreeMap<String, String>);

impl fmt::Debug for Env<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (k, v) in self.0 {
            if is_secret_name(k) {
                map.entry(k, &Redacted);
            } else {
                map.entry(k, v);
            }
        }
        map.finish()
    }
}

/// Redis config directives with the arguments of secret ones replaced.
pub(crate) struct Directives<'a>(pub(crate) &'a [(String, Vec<String>)]);

impl fmt::Debug for Directives<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for (name, args) in self.0 {
            if is_secret_name(name) || name.eq_ignore_ascii_case("user") {
                list.entry(&(name, Redacted));
            } else {
                list.entry(&(name, args));
            }
        }
        list.finish()
    }
}
