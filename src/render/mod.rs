//! Settings + PKI + secrets become a `Bundle`: templates rendered with minijinja, in memory.

pub(crate) mod appenv;
pub(crate) mod bundle;
pub(crate) mod escape;
pub(crate) mod fixtures;
pub(crate) mod kubernetes;
pub(crate) mod stores;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior, context};
use serde::Serialize;

use crate::config::acl::{ADMIN_USER, REPLICA_USER};
use crate::config::layout;
use crate::config::network;
use crate::config::network::ComposeNetwork;
use crate::config::node::Node;
use crate::config::profile::{Pool, Server};
use crate::config::settings::Settings;
use crate::error::{Error, Result};
use crate::pki::Pki;
use crate::pki::secrets::Secrets;
use crate::render::bundle::{Bundle, Kind};

const TEMPLATES: &[(&str, &str)] = &[
    (
        "redis.conf",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/templates/redis.conf.j2"
        )),
    ),
    (
        "users.acl",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/templates/users.acl.j2"
        )),
    ),
    (
        "admin.env",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/templates/admin.env.j2"
        )),
    ),
    (
        ".env",
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/env.j2")),
    ),
    (
        "redis.properties",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/templates/redis.properties.j2"
        )),
    ),
    (
        "docker-compose.yml",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/templates/docker-compose.yml.j2"
        )),
    ),
    (
        "docker-compose-cluster.yml",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/templates/docker-compose-cluster.yml.j2"
        )),
    ),
    (
        "cluster-create.sh",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/templates/cluster-create.sh.j2"
        )),
    ),
    (
        "node-start.sh",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/templates/node-start.sh.j2"
        )),
    ),
    (
        "metrics.env",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/templates/metrics.env.j2"
        )),
    ),
    (
        "healthcheck.sh",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/templates/healthcheck.sh.j2"
        )),
    ),
];

/// Absolute paths of the files shared by every node.
#[derive(Serialize)]
struct Paths {
    out: String,
    acl: String,
    env: String,
    admin_env: String,
    create_script: String,
    node_start: String,
    ca_cert: String,
    client_cert: String,
    client_key: String,
    metrics_cert: String,
    metrics_key: String,
}

#[derive(Serialize)]
struct Mount {
    /// On this machine; the same as `path` except for a mask (/dev/null).
    source: String,
    /// In the container.
    path: String,
    read_only: bool,
}

/// One server as the templates see it; absolute paths.
#[derive(Serialize)]
struct NodeView {
    name: String,
    /// Its compose service: the host name in bridge mode, else `name`.
    service: String,
    host: String,
    port: u16,
    address: String,
    /// `host:port` without brackets: redis-cli splits at the last colon.
    cli_address: String,
    conf: String,
    data: String,
    nodes_conf: String,
    cert: String,
    key: String,
    /// The addresses of `bind`, each a word.
    bind: Vec<String>,
    bind_reason: &'static str,
    announce_ip: Option<String>,
    /// The compose `ports:` entries: the port on each address of `bind`.
    publish: Vec<String>,
    mounts: Vec<Mount>,
    /// `--metrics`: its exporter's settings file (absolute and relative), where the
    /// exporter reaches it (`redis[s]://host:port`) from this machine and from its compose
    /// service, and the port the exporter serves on.
    metrics_env: String,
    metrics_env_rel: String,
    metrics_addr: String,
    metrics_service_addr: String,
    metrics_port: u16,
    metrics_mounts: Vec<Mount>,
}

/// The server the files are written for, as the templates need it: its programs'
/// names, and the directives its version has.
#[derive(Serialize)]
pub(crate) struct TargetView {
    /// "Redis 7.4", "Valkey 9.1".
    title: String,
    server: &'static str,
    cli: &'static str,
    /// The other server's client: scripts fall back to it where only it is installed.
    other_cli: &'static str,
    io_threads_do_reads: bool,
    cluster_databases_one: bool,
    tls_auto_reload: bool,
}

impl TargetView {
    pub(crate) fn of(t: &crate::config::target::Target) -> TargetView {
        TargetView {
            title: t.title(),
            server: t.server_program(),
            cli: t.cli_program(),
            other_cli: t.other_cli_program(),
            io_threads_do_reads: t.io_threads_do_reads(),
            cluster_databases_one: t.cluster_databases_one(),
            tls_auto_reload: t.tls_auto_reload(),
        }
    }
}

/// Everything the templates see.
#[derive(Serialize)]
struct View<'a> {
    version: &'static str,
    profile: &'a str,
    username: &'a str,
    password_sha256: String,
    /// Every variable of the app's `.env`, by name (`appenv`).
    env: BTreeMap<&'static str, String>,
    admin_user: &'static str,
    admin_password: &'a str,
    admin_sha256: String,
    replica_user: &'static str,
    replica_password: &'a str,
    replica_sha256: String,
    /// `--metrics`: the exporter's user and its image.
    metrics: bool,
    metrics_user: &'static str,
    metrics_password: &'a str,
    metrics_sha256: String,
    metrics_image: &'a str,
    /// During a password rotation: the old password's SHA-256 users.acl keeps too.
    password_previous: Option<String>,
    admin_previous: Option<String>,
    replica_previous: Option<String>,
    metrics_previous: Option<String>,
    /// users.acl: each generated user's rules, spelled once in `acl`.
    acl_rules: crate::config::acl::RulesView,
    tls: bool,
    auth: bool,
    cluster: bool,
    replicas: u8,
    /// Masters `redis-cli --cluster create` makes: nodes / (replicas + 1), settings
    /// having checked that it divides.
    masters: usize,
    paths: Paths,
    pool: &'a Pool,
    server: &'a Server,
    /// Redis's own defaults: redis.conf writes a directive only where `server` differs.
    redis_defaults: Server,
    target: TargetView,
    image: &'a str,
    /// A cluster whose nodes are services on a named bridge network (else host networking).
    bridge: bool,
    network: &'static str,
    create_service: &'static str,
    owner: String,
    nodes: Vec<NodeView>,
    create_mounts: Vec<Mount>,
}

/// Render the whole bundle. `secrets` is `Some` exactly when the profile authenticates;
/// `pki` is `Some` exactly when it uses TLS.
pub(crate) fn render(
    settings: &Settings,
    pki: Option<&Pki>,
    secrets: Option<&Secrets>,
) -> Result<Bundle> {
    let view = view(settings, secrets);
    let templates = Templates::new(&view)?;
    let mut bundle = Bundle::default();
    if let Some(pki) = pki {
        certificates(settings, pki, &mut bundle);
    }
    servers(settings, &view, &templates, &mut bundle)?;
    // users.acl, rendered once: the file, and the Kubernetes Secret that carries it.
    let acl = match secrets {
        Some(_) => Some(templates.plain("users.acl")?),
        None => None,
    };
    app_files(acl.clone(), &templates, &mut bundle)?;
    if settings.metrics.is_some() {
        for nv in &view.nodes {
            bundle.file(
                &nv.metrics_env_rel,
                Kind::Secret,
                templates.render("metrics.env", context! { node => Serde(nv) })?,
                "redis_exporter's settings (with its password when the profile has one)",
            );
        }
    }
    containers(settings, &view, &templates, &mut bundle)?;
    kubernetes::add(settings, pki, secrets, acl.as_deref(), &mut bundle)?;
    record(settings, pki, &mut bundle);
    Ok(bundle)
}

/// The templates and the view they all share.
struct Templates {
    env: Environment<'static>,
    /// Converted once: each node's redis.conf is rendered with the whole view, so a
    /// conversion per node would make a cluster's render quadratic in its nodes.
    shared: minijinja::Value,
}

impl Templates {
    fn new(view: &View) -> Result<Templates> {
        Ok(Templates {
            env: environment()?,
            shared: minijinja::Value::from(Serde(view)),
        })
    }

    /// Template `name` with the view and `extra`.
    fn render(&self, name: &str, extra: minijinja::Value) -> Result<String> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(context! { ..extra, ..self.shared.clone() }))
            // minijinja renders into an 8 KiB buffer; a 1 KiB config kept that way
            // made a 1000-node cluster's peak RSS 8 MB larger.
            .map(|mut text| {
                text.shrink_to_fit();
                text
            })
            .map_err(|e| Error::failed(format!("rendering {name} failed: {e:#}")))
    }

    fn plain(&self, name: &str) -> Result<String> {
        self.render(name, context! {})
    }
}

/// The PKI's files: the CA certificate (and its key unless it is an organisation's),
/// each server's certificate and key, the app's client certificate and key.
fn certificates(settings: &Settings, pki: &Pki, bundle: &mut Bundle) {
    let cluster = settings.is_cluster();
    bundle.dir(layout::CERTS_DIR, "certificates and keys");
    bundle.cert(
        layout::CA_CERT,
        Kind::CaCertificate,
        &pki.ca.cert_pem,
        &pki.ca.info,
        "CA certificate: clients and servers trust it",
    );
    // Under an organisation's CA its key stays where it is: never in the folder.
    if !pki.ca.key_pem.is_empty() {
        bundle.file(
            layout::CA_KEY,
            Kind::CaKey,
            pki.ca.key_pem.clone(),
            "CA private key: keep it offline once the setup is done",
        );
    }
    for (node, ck) in settings.nodes.iter().zip(&pki.servers) {
        let purpose = if cluster {
            "cluster node certificate (serverAuth, clientAuth)"
        } else {
            "Redis server certificate (serverAuth)"
        };
        bundle.cert(
            &node.cert,
            Kind::Certificate,
            &ck.cert_pem,
            &ck.info,
            purpose,
        );
        bundle.file(
            &node.key,
            Kind::PrivateKey,
            ck.key_pem.clone(),
            "server private key",
        );
    }
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
    if let Some(m) = &pki.metrics {
        bundle.cert(
            layout::METRICS_CERT,
            Kind::Certificate,
            &m.cert_pem,
            &m.info,
            "metrics exporter client certificate (clientAuth, CN kimera_metrics)",
        );
        bundle.file(
            layout::METRICS_KEY,
            Kind::PrivateKey,
            m.key_pem.clone(),
            "metrics exporter client private key",
        );
    }
}

/// Each server's folders and redis.conf.
fn servers(
    settings: &Settings,
    view: &View,
    templates: &Templates,
    bundle: &mut Bundle,
) -> Result<()> {
    let cluster = settings.is_cluster();
    for (node, nv) in settings.nodes.iter().zip(&view.nodes) {
        if cluster {
            bundle.dir(
                &layout::node_dir(&node.name),
                "a cluster node's config, cluster state and data",
            );
        }
        bundle.dir(&node.data, "Redis snapshots (the server's `dir`)");
        let conf = templates.render("redis.conf", context! { node => Serde(nv) })?;
        // A cluster node's config holds the replication password.
        let (kind, purpose) = if cluster {
            (
                Kind::Secret,
                "cluster node configuration (holds the replication password)",
            )
        } else {
            (Kind::Config, "Redis server configuration")
        };
        bundle.file(&node.conf, kind, conf, purpose);
    }
    Ok(())
}

/// What the app and operators read: users.acl and admin.env with passwords, .env and
/// redis.properties always.
fn app_files(acl: Option<String>, templates: &Templates, bundle: &mut Bundle) -> Result<()> {
    let plain = |name: &str| templates.plain(name);
    let auth = acl.is_some();
    if let Some(acl) = acl {
        bundle.file(
            layout::ACL,
            Kind::Secret,
            acl,
            "ACL users (passwords stored as SHA-256)",
        );
        bundle.file(
            layout::ADMIN_ENV,
            Kind::Secret,
            plain("admin.env")?,
            "the admin user's password, for operators and scripts",
        );
    }
    bundle.file(
        layout::ENV,
        Kind::Secret,
        plain(".env")?,
        if auth {
            "the KIMERA app's settings, with the password"
        } else {
            "the KIMERA app's settings (no password: local, loopback only)"
        },
    );
    bundle.file(
        layout::PROPERTIES,
        Kind::Secret,
        plain("redis.properties")?,
        if auth {
            "the guide's quick-reference form, with the password"
        } else {
            "the guide's quick-reference form (no password: local, loopback only)"
        },
    );
    Ok(())
}

/// The same setup as containers, and a cluster's scripts.
fn containers(
    settings: &Settings,
    view: &View,
    templates: &Templates,
    bundle: &mut Bundle,
) -> Result<()> {
    let plain = |name: &str| templates.plain(name);
    // Each node's compose healthcheck: a shell line, then a YAML string.
    let healthchecks = view
        .nodes
        .iter()
        .map(|node| templates.render("healthcheck.sh", context! { node => Serde(node) }))
        .collect::<Result<Vec<_>>>()?;
    let compose = |name: &str| templates.render(name, context! { healthchecks });
    if settings.is_cluster() {
        bundle.file(
            layout::CLUSTER_CREATE,
            Kind::Script,
            plain("cluster-create.sh")?,
            "forms the cluster once every node runs; safe to run again",
        );
        if view.bridge {
            bundle.file(
                network::NODE_START,
                Kind::Script,
                plain("node-start.sh")?,
                "starts a node's container: peers' addresses looked up again, then the server",
            );
        }
        bundle.file(
            layout::COMPOSE,
            Kind::Config,
            compose("docker-compose-cluster.yml")?,
            "the same cluster as containers of the official image",
        );
    } else {
        bundle.file(
            layout::COMPOSE,
            Kind::Config,
            compose("docker-compose.yml")?,
            "the same setup as a container of the official image",
        );
    }
    Ok(())
}

/// One template (`templates[0]`) rendered on its own with `context`, in the environment
/// every output shares.
pub(crate) fn render_one(
    templates: &'static [(&'static str, &'static str)],
    context: minijinja::Value,
) -> Result<String> {
    let name = templates[0].0;
    environment_with(templates)?
        .get_template(name)
        .and_then(|t| t.render(context))
        .map_err(|e| Error::failed(format!("rendering {name} failed: {e:#}")))
}

fn environment() -> Result<Environment<'static>> {
    environment_with(TEMPLATES)
}

/// The template environment every output shares: strict undefined values, and every
/// value escaped for the format of the file its template makes (`escape::auto_escape`,
/// `escape::formatter`), so that a bare `{{ value }}` is escaped and a forgotten filter
/// fails closed; with `templates`.
pub(crate) fn environment_with(
    templates: &'static [(&'static str, &'static str)],
) -> Result<Environment<'static>> {
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
    env.set_auto_escape_callback(escape::auto_escape);
    env.set_formatter(escape::formatter);
    // Where a format's default escaping is not the form a place needs.
    env.add_filter("bare", escape::bare_filter);
    env.add_filter("words", escape::words_filter);
    env.add_filter("comment", escape::comment_filter);
    env.add_filter("dq", escape::dq_filter);
    env.add_filter("code", escape::code_filter);
    env.add_filter("sh", escape::sh_filter);
    // Compiled when first rendered: a run renders only its profile's templates (a
    // production-tls run half of them by size), and compiling was a tenth of a dry run.
    // `every_template_parses` (tests) parses them all.
    env.set_loader(move |name| {
        Ok(templates
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, source)| (*source).to_owned()))
    });
    Ok(env)
}

fn view<'a>(s: &'a Settings, secrets: Option<&'a Secrets>) -> View<'a> {
    let abs = |rel: &str| path_string(&s.out_dir.join(rel));
    let paths = Paths {
        out: path_string(&s.out_dir),
        acl: abs(layout::ACL),
        env: abs(layout::ENV),
        admin_env: abs(layout::ADMIN_ENV),
        create_script: abs(layout::CLUSTER_CREATE),
        node_start: abs(network::NODE_START),
        ca_cert: abs(layout::CA_CERT),
        client_cert: abs(layout::CLIENT_CERT),
        client_key: abs(layout::CLIENT_KEY),
        metrics_cert: abs(layout::METRICS_CERT),
        metrics_key: abs(layout::METRICS_KEY),
    };
    let auth = secrets.is_some();
    let username = s.username.as_deref().unwrap_or("");
    let nodes = s
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| node_view(s, i, n, &paths, auth))
        .collect();
    let mut create_mounts = vec![
        mount(&paths.create_script, true),
        mount(&paths.admin_env, true),
    ];
    if s.tls {
        for p in [&paths.ca_cert, &paths.client_cert, &paths.client_key] {
            create_mounts.push(mount(p, true));
        }
    }
    let secret = |f: fn(&Secrets) -> Option<&str>| secrets.and_then(f).unwrap_or("");
    let env = appenv::by_name(&appenv::build(
        s,
        secret(|x| Some(&x.app)),
        appenv::Place {
            host: s.host().to_owned(),
            tls_files: [
                paths.ca_cert.clone(),
                paths.client_cert.clone(),
                paths.client_key.clone(),
            ],
            cluster_nodes: s
                .nodes
                .iter()
                .map(Node::address)
                .collect::<Vec<_>>()
                .join(","),
        },
    ));
    let digest = |f: fn(&Secrets) -> Option<&str>| {
        secrets
            .and_then(f)
            .map(crate::digest::sha256_hex)
            .unwrap_or_default()
    };
    View {
        version: env!("CARGO_PKG_VERSION"),
        profile: &s.profile,
        username,
        password_sha256: digest(|x| Some(&x.app)),
        env,
        admin_user: ADMIN_USER,
        admin_password: secret(|x| Some(&x.admin)),
        admin_sha256: digest(|x| Some(&x.admin)),
        replica_user: REPLICA_USER,
        replica_password: secret(|x| x.replica.as_deref()),
        replica_sha256: digest(|x| x.replica.as_deref()),
        metrics: s.metrics.is_some(),
        metrics_user: crate::config::acl::METRICS_USER,
        metrics_password: secret(|x| x.metrics.as_deref()),
        metrics_sha256: digest(|x| x.metrics.as_deref()),
        metrics_image: s.metrics.as_deref().unwrap_or(""),
        password_previous: secrets.and_then(|x| x.previous.app.clone()),
        admin_previous: secrets.and_then(|x| x.previous.admin.clone()),
        replica_previous: secrets.and_then(|x| x.previous.replica.clone()),
        metrics_previous: secrets.and_then(|x| x.previous.metrics.clone()),
        acl_rules: crate::config::acl::rules_view(),
        tls: s.tls,
        auth,
        cluster: s.is_cluster(),
        replicas: s.replicas_per_master.unwrap_or(0),
        masters: s.nodes.len() / (usize::from(s.replicas_per_master.unwrap_or(0)) + 1),
        paths,
        pool: &s.pool,
        server: &s.server,
        redis_defaults: Server::default(),
        target: TargetView::of(&s.target),
        image: &s.image,
        bridge: s.is_cluster() && s.compose_network == ComposeNetwork::Bridge,
        network: network::BRIDGE_NETWORK,
        create_service: network::CREATE_SERVICE,
        owner: format!("{}:{}", s.owner.0, s.owner.1),
        nodes,
        create_mounts,
    }
}

fn node_view(s: &Settings, i: usize, n: &Node, paths: &Paths, auth: bool) -> NodeView {
    let abs = |rel: &str| path_string(&s.out_dir.join(rel));
    let (bind, bind_reason) = crate::config::bind::rule(&s.bind, &n.host);
    let publish = crate::config::bind::published(&bind, n.port);
    let conf = abs(&n.conf);
    let data = abs(&n.data);
    let cert = abs(&n.cert);
    let key = abs(&n.key);
    let mut mounts = vec![mount(&conf, true)];
    if auth {
        mounts.push(mount(&paths.acl, true));
        mounts.push(mount(&paths.env, true));
    }
    if s.tls {
        // Each file on its own: the CA key never enters the container. (A folder mount
        // with the key masked is not enough: a rename over the masked path, as a CA
        // rollover or --replace-ca does, removes the mask in running containers.) A
        // file mount keeps the inode it started with, so renewed certificates reach a
        // container when it is recreated; `renew --apply` says so.
        for p in [
            &paths.ca_cert,
            &cert,
            &key,
            &paths.client_cert,
            &paths.client_key,
        ] {
            mounts.push(mount(p, true));
        }
    }
    let node_dir = s.out_dir.join(&n.conf);
    let node_dir = node_dir.parent().unwrap_or(&s.out_dir);
    if s.is_cluster() {
        // The node writes its cluster state file beside its config.
        mounts[0] = mount(&path_string(node_dir), false);
        if s.compose_network == ComposeNetwork::Bridge {
            mounts.push(mount(&paths.node_start, true));
        }
    } else {
        mounts.push(mount(&data, false));
    }
    let scheme = if s.tls { "rediss" } else { "redis" };
    let service = network::service_name(s.compose_network, s.is_cluster(), n);
    let metrics_env_rel = if s.is_cluster() {
        layout::node_metrics_env(&n.name)
    } else {
        layout::METRICS_ENV.to_owned()
    };
    let mut metrics_mounts = Vec::new();
    if s.tls {
        for p in [&paths.ca_cert, &paths.metrics_cert, &paths.metrics_key] {
            metrics_mounts.push(mount(p, true));
        }
    }
    NodeView {
        metrics_env: abs(&metrics_env_rel),
        metrics_env_rel,
        metrics_addr: format!("{scheme}://{}", n.address()),
        metrics_service_addr: format!(
            "{scheme}://{}",
            crate::config::node::host_port(&service, n.port)
        ),
        // Settings checked that every node's port fits.
        metrics_port: s
            .metrics_port
            .saturating_add(u16::try_from(i).unwrap_or(u16::MAX)),
        metrics_mounts,
        name: n.name.clone(),
        service,
        host: n.host.clone(),
        port: n.port,
        address: n.address(),
        cli_address: format!("{}:{}", n.host, n.port),
        nodes_conf: path_string(&node_dir.join("nodes.conf")),
        conf,
        data,
        cert,
        key,
        bind,
        bind_reason,
        announce_ip: n.host.parse::<IpAddr>().ok().map(|ip| ip.to_string()),
        publish,
        mounts,
    }
}

fn mount(path: &str, read_only: bool) -> Mount {
    Mount {
        source: path.to_owned(),
        path: path.to_owned(),
        read_only,
    }
}

fn path_string(p: &Path) -> String {
    // Settings accepted only UTF-8 output paths.
    p.to_string_lossy().into_owned()
}

/// The settings the folder was made with (no secrets), as one more file of the bundle:
/// renew, verify and doctor read it back (`config::record`).
fn record(settings: &Settings, pki: Option<&Pki>, bundle: &mut Bundle) {
    let pin = pki.map(|p| p.ca.info.sha256_fingerprint.as_str());
    bundle.file(
        layout::RECORD,
        Kind::Config,
        crate::config::record::Record::from_settings(settings, pin).render(),
        "the settings this folder was made with (no secrets): renew, verify and doctor read it",
    );
}

#[cfg(test)]
mod tests {
    /// Templates are compiled when first rendered: each must parse, rendered by a run or not.
    #[test]
    fn every_template_parses() {
        let env = super::environment().unwrap();
        for (name, _) in super::TEMPLATES {
            if let Err(e) = env.get_template(name) {
                panic!("template {name} does not parse: {e:#}");
            }
        }
    }
}
