//! Deliberately broken certificates for other projects' test suites: each one is wrong in
//! exactly one way, so a client or server under test can be shown to refuse it for that
//! reason. Built in memory next to the good bundle, under the same CA unless the point is
//! another CA.

use rcgen::{CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use time::Duration;

use crate::config::node::SanName;
use crate::config::settings::Settings;
use crate::error::{Error, Result};
use crate::pki::issue::CertKey;
use crate::pki::{self, Pki};
use crate::render::bundle::{Bundle, Kind};

pub(crate) const DIR: &str = "fixtures";

/// Which side of the connection a fixture stands in for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Server,
    Client,
}

/// One fixture: what is wrong with it and what a correct peer does with it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fixture {
    pub(crate) name: &'static str,
    pub(crate) role: Role,
    pub(crate) what: &'static str,
    pub(crate) expect: &'static str,
    flaw: Flaw,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flaw {
    Expired,
    NotYetValid,
    WrongHost,
    OtherCa,
    WrongUsage,
    SelfSigned,
}

pub(crate) const FIXTURES: &[Fixture] = &[
    Fixture {
        name: "expired-server",
        role: Role::Server,
        flaw: Flaw::Expired,
        what: "server certificate whose validity ended before it was written (yesterday, or 30 minutes after a new CA began), right names, right CA",
        expect: "a client refuses the server: certificate expired",
    },
    Fixture {
        name: "not-yet-valid-server",
        role: Role::Server,
        flaw: Flaw::NotYetValid,
        what: "server certificate valid only from 30 days from now, right names, right CA",
        expect: "a client refuses the server: certificate not yet valid",
    },
    Fixture {
        name: "wrong-host-server",
        role: Role::Server,
        flaw: Flaw::WrongHost,
        what: "server certificate for wrong-host.invalid only (no localhost, no IPs), right CA",
        expect: "a client with hostname checking refuses the server: name mismatch",
    },
    Fixture {
        name: "other-ca-server",
        role: Role::Server,
        flaw: Flaw::OtherCa,
        what: "server certificate with the right names, signed by another CA (other-ca.crt)",
        expect: "a client trusting certs/ca.crt refuses the server: unknown issuer",
    },
    Fixture {
        name: "server-without-serverauth",
        role: Role::Server,
        flaw: Flaw::WrongUsage,
        what: "server certificate with the right names and CA but only the clientAuth extended key usage",
        expect: "a client refuses the server: certificate not valid for server authentication",
    },
    Fixture {
        name: "self-signed-server",
        role: Role::Server,
        flaw: Flaw::SelfSigned,
        what: "self-signed server certificate with the right names",
        expect: "a client trusting certs/ca.crt refuses the server: unknown issuer (self-signed)",
    },
    Fixture {
        name: "expired-client",
        role: Role::Client,
        flaw: Flaw::Expired,
        what: "client certificate whose validity ended before it was written, right CA",
        expect: "the server refuses the client in the TLS handshake: certificate expired",
    },
    Fixture {
        name: "other-ca-client",
        role: Role::Client,
        flaw: Flaw::OtherCa,
        what: "client certificate signed by another CA (other-ca.crt)",
        expect: "the server refuses the client in the TLS handshake: unknown CA",
    },
    Fixture {
        name: "client-without-clientauth",
        role: Role::Client,
        flaw: Flaw::WrongUsage,
        what: "client certificate from the right CA but only the serverAuth extended key usage",
        expect: "the server refuses the client in the TLS handshake: unsupported certificate purpose",
    },
];

/// Add `fixtures/` to `bundle`: every fixture's certificate and key, the other CA's
/// certificate, and a README table.
pub(crate) fn add(settings: &Settings, pki: &Pki, bundle: &mut Bundle) -> Result<()> {
    let server_sans = &settings.nodes[0].sans;
    let client_cn = pki::client_name(settings);
    let issuer = pki.issuer.as_ref().ok_or_else(|| {
        Error::failed(format!(
            "fixtures are signed by the CA, but {} is not in the folder",
            crate::config::layout::CA_KEY
        ))
    })?;
    let (other_ca, other_ca_pem) = other_ca(pki)?;
    bundle.dir(DIR, "deliberately broken certificates for tests");
    bundle.file(
        &format!("{DIR}/README.md"),
        Kind::Config,
        readme(settings)?,
        "what each fixture is and what a correct peer does with it",
    );
    bundle.file(
        &format!("{DIR}/other-ca.crt"),
        Kind::Certificate,
        other_ca_pem,
        "the other CA that signed the other-ca-* fixtures",
    );
    for f in FIXTURES {
        let wrong_host = [SanName::Dns("wrong-host.invalid".into())];
        let (cn, sans) = match (f.role, f.flaw) {
            (_, Flaw::WrongHost) => ("wrong-host.invalid", &wrong_host[..]),
            (Role::Server, _) => (settings.host(), server_sans.as_slice()),
            (Role::Client, _) => (client_cn, &[][..]),
        };
        let usages = usages(f, settings);
        let validity = validity(f, settings, pki);
        let label = format!("{DIR}/{}.crt", f.name);
        let key = pki::keys::generate_key(settings.key_type)?;
        let issued = match f.flaw {
            Flaw::SelfSigned => self_signed(&key, cn, sans, &usages, &label, pki.now)?,
            flaw => pki::issue::issue_leaf(
                if flaw == Flaw::OtherCa {
                    &other_ca
                } else {
                    issuer
                },
                &key,
                pki::issue::name(cn),
                sans,
                &usages,
                validity,
                &label,
            )?,
        };
        bundle.cert(
            &label,
            Kind::Certificate,
            &issued.cert_pem,
            &issued.info,
            f.what,
        );
        bundle.file(
            &format!("{DIR}/{}.key", f.name),
            Kind::PrivateKey,
            issued.key_pem,
            f.what,
        );
    }
    Ok(())
}

/// The fixture's usages: a server fixture stands in for the profile's server
/// certificate, which in a cluster also authenticates to the other nodes, so only the
/// stated flaw may differ.
fn usages(f: &Fixture, settings: &Settings) -> Vec<ExtendedKeyUsagePurpose> {
    match (f.role, f.flaw) {
        (Role::Server, Flaw::WrongUsage) => vec![ExtendedKeyUsagePurpose::ClientAuth],
        (Role::Client, Flaw::WrongUsage) => vec![ExtendedKeyUsagePurpose::ServerAuth],
        (Role::Server, _) => pki::issue::server_usages(settings.is_cluster()),
        (Role::Client, _) => vec![ExtendedKeyUsagePurpose::ClientAuth],
    }
}

/// The fixture's validity, inside the CA's own, so that the dates are the only thing
/// wrong.
fn validity(
    f: &Fixture,
    settings: &Settings,
    pki: &Pki,
) -> (time::OffsetDateTime, time::OffsetDateTime) {
    let ca_start = pki.ca.info.not_before;
    match f.flaw {
        Flaw::Expired => (
            (pki.now - Duration::days(31)).max(ca_start),
            (pki.now - Duration::days(1)).max(ca_start + Duration::minutes(30)),
        ),
        Flaw::NotYetValid => (
            pki.now + Duration::days(30),
            (pki.now + Duration::days(395)).min(pki.ca.info.not_after),
        ),
        _ => pki::issue::validity(pki.now, settings.leaf_days),
    }
}

/// A second CA, the "another CA" of the fixtures; its key is thrown away.
fn other_ca(pki: &Pki) -> Result<(Issuer<'static, KeyPair>, String)> {
    let key = KeyPair::generate().map_err(|e| Error::failed(format!("fixture CA: {e}")))?;
    let mut params = CertificateParams::default();
    params.distinguished_name = pki::issue::name("KIMERA fixtures: another CA");
    params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = pki.now - Duration::hours(1);
    params.not_after = pki.now + Duration::days(3650);
    let cert = params
        .self_signed(&key)
        .map_err(|e| Error::failed(format!("fixture CA: {e}")))?;
    Ok((Issuer::new(params, key), cert.pem()))
}

/// A certificate that signs itself, with a leaf's names and usage.
fn self_signed(
    key: &KeyPair,
    cn: &str,
    sans: &[SanName],
    usages: &[ExtendedKeyUsagePurpose],
    label: &str,
    now: time::OffsetDateTime,
) -> Result<CertKey> {
    // Signed by a throwaway issuer made from the same key and name: self-signed.
    let mut params = CertificateParams::default();
    params.distinguished_name = pki::issue::name(cn);
    let issuer_key = KeyPair::try_from(key.serialized_der())
        .map_err(|e| Error::failed(format!("{label}: {e}")))?;
    let issuer = Issuer::new(params, issuer_key);
    let validity = pki::issue::validity(now, 365);
    pki::issue::issue_leaf(
        &issuer,
        key,
        pki::issue::name(cn),
        sans,
        usages,
        validity,
        label,
    )
}

fn readme(settings: &Settings) -> Result<String> {
    // Absolute paths, as in the generated files: redis.conf's `dir` changes the server's
    // working folder, so relative ones would not be found.
    let abs = |rel: &str| settings.out_dir.join(rel).display().to_string();
    let node = &settings.nodes[0];
    let fixture = |name: &str| abs(&format!("{DIR}/{name}"));
    crate::render::render_one(
        &[(
            "README.md",
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/templates/fixtures/README.md.j2"
            )),
        )],
        minijinja::context! {
            profile => settings.profile.as_str(),
            server_program => settings.target.server_program(),
            ca_cert => abs(crate::config::layout::CA_CERT),
            server_cert => abs(&node.cert),
            client_cert => abs(crate::config::layout::CLIENT_CERT),
            server_conf => abs(&node.conf),
            expired_cert => fixture("expired-server.crt"),
            expired_key => fixture("expired-server.key"),
            fixtures => FIXTURES.iter().map(|f| [f.name, f.what, f.expect]).collect::<Vec<_>>(),
        },
    )
}
