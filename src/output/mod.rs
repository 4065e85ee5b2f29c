//! The bundle in memory and the one writer that puts it on disk (lock, journal, manifest).

pub(crate) mod journal;
pub(crate) mod lock;
pub(crate) mod manifest;
pub(crate) mod safedir;
pub(crate) mod writer;
