//! What an existing folder says: its record, `.env`, configs, keys, certificates and a
//! rotation's state. Read, never written; servers are asked in `server`.

pub(crate) mod envcheck;
pub(crate) mod existing;
pub(crate) mod folder;
pub(crate) mod passwords;
pub(crate) mod redisconf;
pub(crate) mod rollover;
