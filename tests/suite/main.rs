//! The integration suite in one binary (cargo's own `tests/testsuite` pattern): each
//! module is one area of behaviour, all sharing `common`. One binary links the crate once
//! instead of once per file, which was most of the suite's build time. Tests that need a
//! process of their own stay beside it: `hostile_servers` (it measures its children's
//! CPU time with getrusage), and the Docker suites `containers` and `kubernetes_sim`.

#[path = "../common/mod.rs"]
mod common;

mod app_loop;
mod apply_checks_first;
mod attacks;
mod certificates;
mod cli_errors;
mod client_interop;
mod closed_stdout;
mod cluster;
mod cluster_settle;
mod completions;
mod compose_options;
mod concurrency;
mod doctor_dials;
mod doctor_mapping;
mod fixes;
mod fixtures;
mod hardening;
mod high_performance;
mod hostile_folders;
mod impostor;
mod java_stores;
mod kubernetes;
mod lifecycle;
mod local_dev;
mod metrics;
mod network;
mod password_rotation;
mod paste;
mod production_tls;
mod properties;
mod readback;
mod redaction;
mod regeneration;
mod rerun;
mod rerun_record;
mod rotation;
mod settings_table;
mod verdicts;
