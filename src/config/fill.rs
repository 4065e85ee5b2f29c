//! A re-run starts from the folder's record: every value the request leaves to the
//! profile is taken from `kimera-redis.toml` where the record holds it exactly, so a
//! re-run with fewer flags reproduces the folder instead of being refused for differing
//! from the profile's defaults. Explicit flags always win; a folder made from a profile
//! file, a request with a profile file, or a request for another profile take nothing
//! (a profile file's own values are never overridden). Never taken: the Kubernetes
//! options, an organisation's CA, and the run options.

use clap::ValueEnum;

use crate::config::network::{self, ComposeNetwork};
use crate::config::node::host_port;
use crate::config::profile;
use crate::config::record::Record;
use crate::config::request::{
    DEFAULT_CA_DAYS, DEFAULT_DAYS, DEFAULT_IMAGE, DEFAULT_KEY_TYPE, Request,
};

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
/// order, only values that differ from what the profile alone would give.
pub(crate) fn fill_from(req: &mut Request, record: &Record) -> Vec<Taken> {
    let mut taken = Vec::new();
    if req.profile_file.is_some() || !profile::names().contains(&record.profile.as_str()) {
        return taken;
    }
    if req.profile.as_ref().is_some_and(|p| *p != record.profile) {
        return taken;
    }
    let Ok(p) = profile::builtin(&record.profile) else {
        return taken;
    };
    if req.profile.is_none() {
        req.profile = Some(record.profile.clone());
        take(&mut taken, "--profile", record.profile.clone());
    }
    let Some(first) = record.nodes.first() else {
        return taken;
    };
    if let Some(replicas) = record.cluster_replicas {
        let listed: Vec<String> = record
            .nodes
            .iter()
            .map(|n| host_port(&n.host, n.port))
            .collect();
        if req.nodes.is_empty()
            && req.host.is_none()
            && req.port.is_none()
            && listed != p.cluster_nodes
        {
            take(&mut taken, "--nodes", listed.join(","));
            req.nodes = listed;
        }
        if req.replicas.is_none() && i64::from(replicas) != p.replicas {
            req.replicas = Some(i64::from(replicas));
            take(&mut taken, "--replicas", replicas.to_string());
        }
    } else if req.nodes.is_empty() && req.replicas.is_none() {
        if req.host.is_none() && first.host != p.host {
            req.host = Some(first.host.clone());
            take(&mut taken, "--host", first.host.clone());
        }
        if req.port.is_none() && i64::from(first.port) != p.port {
            req.port = Some(i64::from(first.port));
            take(&mut taken, "--port", first.port.to_string());
        }
    }
    if req.san.is_empty() {
        let base = [
            first.host.as_str(),
            "localhost",
            "127.0.0.1",
            "::1",
            first.name.as_str(),
        ];
        for san in &first.sans {
            if !base.iter().any(|b| b.eq_ignore_ascii_case(san)) {
                req.san.push(san.clone());
                take(&mut taken, "--san", san.clone());
            }
        }
    }
    if let (None, Some(user)) = (&req.username, &record.username)
        && *user != p.username
    {
        req.username = Some(user.clone());
        take(&mut taken, "--username", user.clone());
    }
    if req.db.is_none() && i64::from(record.db) != p.db {
        req.db = Some(i64::from(record.db));
        take(&mut taken, "--db", record.db.to_string());
    }
    if !req.tls && record.tls && !p.tls {
        req.tls = true;
        taken.push(Taken {
            flag: "--tls",
            value: None,
        });
    }
    if req.io_threads.is_none() && record.server.io_threads != p.server.io_threads {
        req.io_threads = Some(record.server.io_threads);
        take(
            &mut taken,
            "--io-threads",
            record.server.io_threads.to_string(),
        );
    }
    if req.maxmemory.is_none() && record.server.maxmemory != p.server.maxmemory {
        req.maxmemory = Some(record.server.maxmemory.clone());
        take(&mut taken, "--maxmemory", record.server.maxmemory.clone());
    }
    if req.image.is_none() && record.image != DEFAULT_IMAGE {
        req.image = Some(record.image.clone());
        take(&mut taken, "--image", record.image.clone());
    }
    if req.compose_network.is_none()
        && record.cluster_replicas.is_some()
        && let Ok(mode) = ComposeNetwork::from_str(&record.compose_network, false)
    {
        let hosts: Vec<&str> = record.nodes.iter().map(|n| n.host.as_str()).collect();
        if mode != network::default_for(&hosts) {
            req.compose_network = Some(mode);
            take(
                &mut taken,
                "--compose-network",
                record.compose_network.clone(),
            );
        }
    }
    if let Some(key_type) = record.key_type()
        && !req.asked.key_type
        && req.key_type == DEFAULT_KEY_TYPE
        && key_type != DEFAULT_KEY_TYPE
    {
        req.key_type = key_type;
        take(&mut taken, "--key-type", key_type.name());
    }
    if !req.asked.days && req.days == DEFAULT_DAYS && i64::from(record.leaf_days) != DEFAULT_DAYS {
        req.days = i64::from(record.leaf_days);
        take(&mut taken, "--days", record.leaf_days.to_string());
    }
    if !req.asked.ca_days
        && req.ca_days == DEFAULT_CA_DAYS
        && i64::from(record.ca_days) != DEFAULT_CA_DAYS
    {
        req.ca_days = i64::from(record.ca_days);
        take(&mut taken, "--ca-days", record.ca_days.to_string());
    }
    if !req.pkcs12 && record.pkcs12 {
        req.pkcs12 = true;
        taken.push(Taken {
            flag: "--pkcs12",
            value: None,
        });
    }
    taken
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
