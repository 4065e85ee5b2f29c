//! A re-run starts from the folder's record: every value the request leaves to the
//! profile is taken from `kimera-redis.toml` where the record holds it exactly, so a
//! re-run with fewer flags reproduces the folder instead of being refused for differing
//! from the profile's defaults. Explicit flags always win; a folder made from a profile
//! file, a request with a profile file, or a request for another profile take nothing
//! (a profile file's own values are never overridden). Never taken: the Kubernetes
//! options, an organisation's CA, and the run options.

use crate::config::record::Record;
use crate::config::replay;
use crate::config::request::{DEFAULT_CA_DAYS, DEFAULT_DAYS, DEFAULT_KEY_TYPE, Request};
use crate::config::target::ServerKind;

/// One value taken from the record: its flag, and its value unless the flag is a switch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Taken {
    pub(crate) flag: &'static str,
    pub(crate) value: Option<String>,
}

fn take(taken: &mut Vec<Taken>, flag: &'static str, value: impl Into<String>) {
    taken.push(Taken {
        flag,
        value: Some(value.into()),
    });
}

/// Fill what `req` leaves to the profile from `record`; returns what was taken, in flag
/// order, only values that differ from what the profile alone would give. The record's
/// request is `replay::request`, the one record-to-request mapping; this only decides,
/// flag by flag, whether the caller left the value open.
pub(crate) fn fill_from(req: &mut Request, record: &Record) -> Vec<Taken> {
    let mut taken = Vec::new();
    if req.profile_file.is_some() || !replay::builtin(record) || record.nodes.is_empty() {
        return taken;
    }
    if req.profile.as_ref().is_some_and(|p| *p != record.profile) {
        return taken;
    }
    let full = replay::request(record, &req.out.clone().unwrap_or_default());
    let t = &mut taken;
    if req.profile.is_none() {
        req.profile = Some(record.profile.clone());
        take(t, "--profile", record.profile.clone());
    }
    addresses(t, req, &full, record.cluster_replicas.is_some());
    if req.san.is_empty() {
        for san in &full.san {
            req.san.push(san.clone());
            take(t, "--san", san.clone());
        }
    }
    // The values a flag leaves `None` (or a switch off), taken as the record has them:
    // (flag, field), in flag order.
    macro_rules! open_fields {
        ($($flag:literal => $field:ident),* $(,)?) => {
            $(open(t, $flag, &mut req.$field, &full.$field);)*
        };
    }
    open_fields!("--username" => username, "--db" => db);
    switch(t, "--tls", &mut req.tls, full.tls);
    open_fields!(
        "--io-threads" => io_threads,
        "--maxmemory" => maxmemory,
        "--persistence" => persistence,
    );
    server(t, req, &full);
    open_fields!("--image" => image);
    if record.cluster_replicas.is_some()
        && req.compose_network.is_none()
        && let Some(mode) = full.compose_network
    {
        req.compose_network = Some(mode);
        take(t, "--compose-network", record.compose_network.clone());
    }
    if req.bind.is_empty() && !full.bind.is_empty() {
        req.bind = full.bind.clone();
        take(t, "--bind", full.bind.join(","));
    }
    switch(t, "--metrics", &mut req.metrics, full.metrics);
    if req.metrics {
        open_fields!("--metrics-image" => metrics_image, "--metrics-port" => metrics_port);
    }
    defaulted(t, req, &full);
    switch(t, "--pkcs12", &mut req.pkcs12, full.pkcs12);
    taken
}

/// A cluster's nodes and replicas, or a single server's host and port: only when the
/// request names none of either shape (a request for the other shape takes nothing).
fn addresses(t: &mut Vec<Taken>, req: &mut Request, full: &Request, cluster: bool) {
    if cluster {
        if req.nodes.is_empty()
            && req.host.is_none()
            && req.port.is_none()
            && !full.nodes.is_empty()
        {
            req.nodes = full.nodes.clone();
            take(t, "--nodes", full.nodes.join(","));
        }
        open(t, "--replicas", &mut req.replicas, &full.replicas);
    } else if req.nodes.is_empty() && req.replicas.is_none() {
        open(t, "--host", &mut req.host, &full.host);
        open(t, "--port", &mut req.port, &full.port);
    }
}

/// The recorded version belongs to the recorded server: a re-run that names another
/// server gets that server's default version, not a number it may never have had.
fn server(t: &mut Vec<Taken>, req: &mut Request, full: &Request) {
    let recorded_kind = full.server.unwrap_or(ServerKind::Redis);
    if req.server.is_none_or(|k| k == recorded_kind) {
        if req.server.is_none() && full.server.is_some() {
            req.server = full.server;
            take(t, "--server", recorded_kind.name());
        }
        open(
            t,
            "--server-version",
            &mut req.server_version,
            &full.server_version,
        );
    }
}

/// Key type and validity have defaults rather than `None`: open when not named and still
/// the default.
fn defaulted(t: &mut Vec<Taken>, req: &mut Request, full: &Request) {
    if !req.asked.key_type && req.key_type == DEFAULT_KEY_TYPE && full.key_type != DEFAULT_KEY_TYPE
    {
        req.key_type = full.key_type;
        take(t, "--key-type", full.key_type.name());
    }
    if !req.asked.days && req.days == DEFAULT_DAYS && full.days != DEFAULT_DAYS {
        req.days = full.days;
        take(t, "--days", full.days.to_string());
    }
    if !req.asked.ca_days && req.ca_days == DEFAULT_CA_DAYS && full.ca_days != DEFAULT_CA_DAYS {
        req.ca_days = full.ca_days;
        take(t, "--ca-days", full.ca_days.to_string());
    }
}

/// A value the caller left open (`None`) that the record names.
fn open<T: Clone + ToString>(
    taken: &mut Vec<Taken>,
    flag: &'static str,
    mine: &mut Option<T>,
    recorded: &Option<T>,
) {
    if let (None, Some(v)) = (&mine, recorded) {
        take(taken, flag, v.to_string());
        *mine = Some(v.clone());
    }
}

/// A switch the caller left off that the record has on.
fn switch(taken: &mut Vec<Taken>, flag: &'static str, mine: &mut bool, recorded: bool) {
    if !*mine && recorded {
        *mine = true;
        taken.push(Taken { flag, value: None });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::request::{KeyType, RunOptions};
    use crate::config::settings::Settings;

    fn record(req: Request) -> Record {
        let req = Request {
            out: Some("/nonexistent/kimera-fill-test".into()),
            ..req
        };
        Record::from_settings(
            &Settings::resolve(&req, &RunOptions::default()).unwrap(),
            None,
        )
    }

    fn flags(taken: &[Taken]) -> Vec<&str> {
        taken.iter().map(|t| t.flag).collect()
    }

    #[test]
    fn named_values_win_and_the_rest_is_taken() {
        let rec = record(Request {
            host: Some("redis.example.com".into()),
            port: Some(6390),
            san: vec!["x.example".into()],
            key_type: KeyType::Rsa2048,
            days: 90,
            ca_days: 800,
            ..Request::new("production-tls")
        });
        let mut req = Request {
            port: Some(6391),
            days: 30,
            asked: crate::config::request::Asked {
                days: true,
                ..Default::default()
            },
            ..Request::default()
        };
        let taken = fill_from(&mut req, &rec);
        assert_eq!(
            flags(&taken),
            ["--profile", "--host", "--san", "--key-type", "--ca-days"]
        );
        assert_eq!(req.port, Some(6391));
        assert_eq!(req.days, 30);
        assert_eq!(req.host.as_deref(), Some("redis.example.com"));
        assert_eq!(req.san, ["x.example"]);
        assert_eq!(req.key_type, KeyType::Rsa2048);
        assert_eq!(req.ca_days, 800);
    }

    #[test]
    fn the_profiles_own_values_are_not_taken() {
        let rec = record(Request::new("production-tls"));
        let mut req = Request::new("production-tls");
        assert_eq!(fill_from(&mut req, &rec), []);
    }

    #[test]
    fn another_profile_or_a_profile_file_takes_nothing() {
        let rec = record(Request {
            host: Some("redis.example.com".into()),
            ..Request::new("production-tls")
        });
        let mut other = Request::new("local-dev");
        assert_eq!(fill_from(&mut other, &rec), []);
        assert_eq!(other.host, None);
        let mut file = Request {
            profile_file: Some("/nonexistent/p.toml".into()),
            ..Request::default()
        };
        assert_eq!(fill_from(&mut file, &rec), []);
        assert_eq!(file.profile, None);
        let mut from_file = rec.clone();
        from_file.profile = "staging".into();
        let mut bare = Request::default();
        assert_eq!(fill_from(&mut bare, &from_file), []);
        assert_eq!(bare.profile, None);
    }
}
