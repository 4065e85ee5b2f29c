//! Settings + PKI become a `Bundle`: templates rendered with minijinja, in memory.

use std::path::Path;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Serde, ValueKind};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;

use crate::bundle::{Bundle, Kind};
use crate::error::{Error, Result};
use crate::escape;
use crate::layout;
use crate::pki::Pki;
use crate::profile::{Kimera, Pool};
use crate::settings::{COMPOSE_SERVICE, Settings};

/// The official image, on the major the tests run against.
pub const REDIS_IMAGE: &str = "redis:7.4";

const TEMPLATES: &[(&str, &str)] = &[
    ("redis.conf", include_str!("../templates/redis.conf.j2")),
    ("users.acl", include_str!("../templates/users.acl.j2")),
    (".env", include_str!("../templates/env.j2")),
    (
        "redis.properties",
        include_str!("../templates/redis.properties.j2"),
    ),
    (
        "docker-compose.yml",
        include_str!("../templates/docker-compose.yml.j2"),
    ),
];

/// Absolute paths of every file the rendered files point at.
#[derive(Serialize)]
struct Paths {
    conf: String,
    acl: String,
    env: String,
    data: String,
    ca_cert: String,
    server_cert: String,
    server_key: String,
    client_cert: String,
    client_key: String,
}

/// The certificate paths the app gets, empty without TLS.
#[derive(Serialize)]
struct AppTls {
    ca: String,
    certfile: String,
    keyfile: String,
}

#[derive(Serialize)]
struct Mount {
    path: String,
    read_only: bool,
}

/// Everything the templates see.
#[derive(Serialize)]
struct View<'a> {
    version: &'static str,
    profile: &'a str,
    host: &'a str,
    port: u16,
    db: u8,
    username: &'a str,
    password: &'a str,
    password_sha256: String,
    tls: bool,
    auth: bool,
    bind: &'static str,
    bind_reason: &'static str,
    paths: Paths,
    app: AppTls,
    pool: PoolView,
    kimera: &'a Kimera,
    service: &'static str,
    image: &'static str,
    owner: String,
    publish: String,
    mounts: Vec<Mount>,
}

/// Pool values as the guide writes them (`5.0`, not `5`).
#[derive(Serialize)]
struct PoolView {
    max_connections: i64,
    socket_timeout: String,
    socket_connect_timeout: String,
    retry_on_timeout: bool,
    health_check_interval: i64,
}

impl From<&Pool> for PoolView {
    fn from(p: &Pool) -> Self {
        PoolView {
            max_connections: p.max_connections,
            socket_timeout: format!("{:?}", p.socket_timeout),
            socket_connect_timeout: format!("{:?}", p.socket_connect_timeout),
            retry_on_timeout: p.retry_on_timeout,
            health_check_interval: p.health_check_interval,
        }
    }
}

/// Render the whole bundle. `password` is `Some` exactly when the profile authenticates;
/// `pki` is `Some` exactly when it uses TLS.
pub fn render(settings: &Settings, pki: Option<&Pki>, password: Option<&str>) -> Result<Bundle> {
    let env = environment()?;
    let view = view(settings, password);
    let render = |name: &str| -> Result<String> {
        env.get_template(name)
            .and_then(|t| t.render(Serde(&view)))
            .map_err(|e| Error::failed(format!("rendering {name} failed: {e:#}")))
    };

    let mut bundle = Bundle::default();
    bundle.dir(layout::DATA_DIR, "Redis snapshots (the server's `dir`)");
    if let Some(pki) = pki {
        bundle.dir(layout::CERTS_DIR, "certificates and keys");
        bundle.cert(
            layout::CA_CERT,
            Kind::CaCertificate,
            &pki.ca.cert_pem,
            &pki.ca.info,
            "CA certificate: clients and the server trust it",
        );
        bundle.file(
            layout::CA_KEY,
            Kind::CaKey,
            pki.ca.key_pem.clone(),
            "CA private key: keep it offline once the setup is done",
        );
        bundle.cert(
            layout::SERVER_CERT,
            Kind::Certificate,
            &pki.server.cert_pem,
            &pki.server.info,
            "Redis server certificate (serverAuth)",
        );
        bundle.file(
            layout::SERVER_KEY,
            Kind::PrivateKey,
            pki.server.key_pem.clone(),
            "Redis server private key",
        );
        bundle.cert(
            layout::CLIENT_CERT,
            Kind::Certificate,
            &pki.client.cert_pem,
            &pki.client.info,
            "app client certificate (clientAuth)",
        );
        bundle.file(
            layout::CLIENT_KEY,
            Kind::PrivateKey,
            pki.client.key_pem.clone(),
            "app client private key",
        );
    }
    bundle.file(
        layout::REDIS_CONF,
        Kind::Config,
        render("redis.conf")?,
        "Redis server configuration",
    );
    if password.is_some() {
        bundle.file(
            layout::ACL,
            Kind::Secret,
            render("users.acl")?,
            "ACL users (password stored as SHA-256)",
        );
    }
    bundle.file(
        layout::ENV,
        Kind::Secret,
        render(".env")?,
        "the KIMERA app's settings, with the password",
    );
    bundle.file(
        layout::PROPERTIES,
        Kind::Secret,
        render("redis.properties")?,
        "the guide's quick-reference form, with the password",
    );
    bundle.file(
        layout::COMPOSE,
        Kind::Config,
        render("docker-compose.yml")?,
        "the same setup as a container of the official image",
    );
    Ok(bundle)
}

fn environment() -> Result<Environment<'static>> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Block tags on lines of their own leave no blank lines; every file ends in a newline.
    let syntax = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .map_err(|e| Error::failed(format!("template syntax: {e}")))?;
    env.set_syntax(syntax);
    // Booleans as every format here spells them (`true`), not Python's `True`.
    env.set_formatter(|out, state, value| match value.kind() {
        ValueKind::Bool => write!(out, "{}", value.is_true()).map_err(minijinja::Error::from),
        _ => minijinja::escape_formatter(out, state, value),
    });
    // Escaping is done by the per-format filters below, never by file extension.
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.add_filter("conf", |v: &str| escape::conf(v));
    env.add_filter("compose", |v: &str| escape::compose(v));
    env.add_filter("sh", |v: &str| escape::sh(v));
    env.add_filter("properties", |v: &str| escape::properties(v));
    env.add_filter("acl", |v: &str| escape::acl(v).map_err(template_error));
    env.add_filter("env", |v: &str| escape::env(v).map_err(template_error));
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .map_err(|e| Error::failed(format!("template {name} does not parse: {e:#}")))?;
    }
    Ok(env)
}

fn template_error(msg: String) -> minijinja::Error {
    minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, msg)
}

fn view<'a>(s: &'a Settings, password: Option<&'a str>) -> View<'a> {
    let abs = |rel: &str| path_string(&s.out_dir.join(rel));
    let paths = Paths {
        conf: abs(layout::REDIS_CONF),
        acl: abs(layout::ACL),
        env: abs(layout::ENV),
        data: abs(layout::DATA_DIR),
        ca_cert: abs(layout::CA_CERT),
        server_cert: abs(layout::SERVER_CERT),
        server_key: abs(layout::SERVER_KEY),
        client_cert: abs(layout::CLIENT_CERT),
        client_key: abs(layout::CLIENT_KEY),
    };
    let app = if s.tls {
        AppTls {
            ca: paths.ca_cert.clone(),
            certfile: paths.client_cert.clone(),
            keyfile: paths.client_key.clone(),
        }
    } else {
        AppTls {
            ca: String::new(),
            certfile: String::new(),
            keyfile: String::new(),
        }
    };
    let auth = password.is_some();
    let mut mounts = vec![(paths.conf.clone(), true)];
    if auth {
        mounts.push((paths.acl.clone(), true));
        mounts.push((paths.env.clone(), true));
    }
    if s.tls {
        // Each file on its own: the CA key stays out of the container.
        for p in [
            &paths.ca_cert,
            &paths.server_cert,
            &paths.server_key,
            &paths.client_cert,
            &paths.client_key,
        ] {
            mounts.push((p.clone(), true));
        }
    }
    mounts.push((paths.data.clone(), false));
    let loopback = s.host_is_loopback();
    let (bind, bind_reason) = if loopback {
        (
            "127.0.0.1 -::1",
            "The app runs on this machine: listen on loopback only.",
        )
    } else {
        (
            "* -::*",
            "The app connects over the network: listen on every interface (-::* when IPv6 is absent).",
        )
    };
    View {
        version: env!("CARGO_PKG_VERSION"),
        profile: &s.profile,
        host: &s.host,
        port: s.port,
        db: s.db,
        username: s.username.as_deref().unwrap_or(""),
        password: password.unwrap_or(""),
        password_sha256: password.map(sha256_hex).unwrap_or_default(),
        tls: s.tls,
        auth,
        bind,
        bind_reason,
        paths,
        app,
        pool: PoolView::from(&s.pool),
        kimera: &s.kimera,
        service: COMPOSE_SERVICE,
        image: REDIS_IMAGE,
        owner: format!("{}:{}", s.owner.0, s.owner.1),
        publish: if loopback {
            format!("127.0.0.1:{0}:{0}", s.port)
        } else {
            format!("{0}:{0}", s.port)
        },
        mounts: mounts
            .into_iter()
            .map(|(path, read_only)| Mount { path, read_only })
            .collect(),
    }
}

fn path_string(p: &Path) -> String {
    // Settings accepted only UTF-8 output paths.
    p.to_string_lossy().into_owned()
}

/// The form users.acl stores passwords in: `#` + 64 lowercase hex digits.
pub fn sha256_hex(password: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, password.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}
