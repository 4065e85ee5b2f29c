//! What an existing folder and its running servers say: read, never written.

pub(crate) mod certinfo;
pub(crate) mod deadline;
pub(crate) mod envcheck;
pub(crate) mod existing;
pub(crate) mod folder;
pub(crate) mod kept;
pub(crate) mod live;
pub(crate) mod passwords;
pub(crate) mod pinned;
pub(crate) mod redisconf;
pub(crate) mod resp;
pub(crate) mod rollover;
