//! What the folder was generated with (its record, `kimera-redis.toml`) against what it
//! is now. A folder made with TLS whose `.env` and servers were switched to plain text,
//! consistently, agrees with itself everywhere else: only the record shows that it is
//! weaker than what was generated. Folders without a record are not checked here.

use crate::config::layout;

impl super::Checker<'_> {
    pub(super) fn recorded(&mut self) {
        let f = self.folder;
        let Some(record) = f.recorded() else {
            return;
        };
        self.check = "record";
        if !record.tls {
            return;
        }
        let fix = format!(
            "run `{} --force` (it writes the TLS settings again, keeping the password and the CA)",
            super::fixes::generate_command(f)
        );
        self.expect(
            layout::ENV,
            (!f.tls()).then(|| {
                format!(
                    "REDIS_SSL={}, but the folder was generated with TLS ({}): the app would send its password in plain text",
                    f.env("REDIS_SSL"),
                    layout::RECORD
                )
            }),
            fix.clone(),
        );
        for s in &f.servers {
            self.expect(
                &s.rel,
                (!s.tls()).then(|| {
                    format!(
                        "TLS is off (no tls-port), but the folder was generated with TLS ({})",
                        layout::RECORD
                    )
                }),
                fix.clone(),
            );
        }
    }
}
