//! Flags and profiles become validated settings: the only place that checks input.

pub(crate) mod acl;
pub(crate) mod bind;
pub(crate) mod envrules;
pub(crate) mod fill;
pub(crate) mod image;
pub(crate) mod inputfile;
pub(crate) mod kubernetes;
pub(crate) mod layout;
pub(crate) mod network;
pub(crate) mod node;
pub(crate) mod profile;
pub(crate) mod record;
pub(crate) mod replay;
pub(crate) mod request;
pub(crate) mod settings;
pub(crate) mod target;
pub(crate) mod url;
pub(crate) mod yamlscalar;
