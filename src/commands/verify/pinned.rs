//! The CA is pinned: `certs/ca.crt` holds exactly the CA the record pins (two during a
//! CA rollover), and `certs/ca.key` is that CA's key. A CA appended to `ca.crt` would be
//! trusted by every server and client that reads it; it is found here by fingerprint,
//! not by looking for anything in particular.

use crate::certificate;
use crate::config::layout;
use crate::digest::fingerprint;
use crate::render::escape::sh_word;

impl super::Checker<'_> {
    pub(super) fn pinned(&mut self) {
        let f = self.folder;
        let Ok(pem) = crate::regularfile::read_text(&f.dir.join(layout::CA_CERT)) else {
            return; // reported by the certificate checks, with their fix
        };
        let Ok(all) = certificate::all_from_pem(layout::CA_CERT, &pem) else {
            return;
        };
        let pinned = f.pinned_cas();
        let ca_path = f.dir.join(layout::CA_CERT).display().to_string();
        let first_is_pinned = all.first().is_some_and(|c| pinned.contains(c));
        let keep_first = format!(
            "keep the pinned CA alone: run `openssl x509 -in {0} -out {0}.pinned && mv {0}.pinned {0}`",
            sh_word(&ca_path)
        );
        for der in &all {
            let subject = certificate::from_der(layout::CA_CERT, der)
                .map(|i| i.subject)
                .unwrap_or_default();
            let problem = (!pinned.contains(der)).then(|| {
                format!(
                    "weakens security: holds a CA the folder does not pin ({}, SHA-256 {}): \
                     every server and client that reads ca.crt would trust what it signs",
                    crate::printable::text(&subject),
                    fingerprint(der)
                )
            });
            let fix = if first_is_pinned && pinned.len() == 1 {
                keep_first.clone()
            } else {
                format!("restore {} from a backup", layout::CA_CERT)
            };
            self.expect(layout::CA_CERT, problem, fix);
        }
        if let Some(pins) = f.pins() {
            let held: Vec<String> = all.iter().map(|d| fingerprint(d)).collect();
            for pin in pins {
                self.expect(
                    layout::CA_CERT,
                    (!held.iter().any(|h| h == pin)).then(|| {
                        format!(
                            "lacks the CA the record pins (SHA-256 {}): the folder's certificates cannot be trusted without it",
                            crate::printable::text(pin)
                        )
                    }),
                    super::fixes::lost_ca(f),
                );
            }
        }
        self.ca_key_is_the_pinned_ones(&pinned);
    }

    /// `certs/ca.key`, when the folder has its own CA, is the key of the first pinned CA
    /// (the current one; the next one's key is in ca-rollover/ during a rollover).
    fn ca_key_is_the_pinned_ones(&mut self, pinned: &[Vec<u8>]) {
        let f = self.folder;
        let Ok(key_pem) = crate::regularfile::read_text(&f.dir.join(layout::CA_KEY)) else {
            return;
        };
        let Some(ca) = pinned
            .first()
            .and_then(|der| certificate::from_der(layout::CA_CERT, der).ok())
        else {
            return;
        };
        let matches = rcgen::KeyPair::from_pem(&key_pem)
            .is_ok_and(|k| rcgen::PublicKeyData::der_bytes(&k) == ca.public_key.as_slice());
        self.expect(
            layout::CA_KEY,
            (!matches).then(|| {
                "weakens security: is not the key of the pinned CA: certificates signed with it would not chain, and whoever made it can sign".to_owned()
            }),
            format!(
                "restore {} from a backup; without one, make a new CA and issue everything again under it: run `{} --force --replace-ca` and restart the server (clients must then trust the new {})",
                layout::CA_KEY,
                super::fixes::generate_command(f),
                layout::CA_CERT
            ),
        );
    }
}
