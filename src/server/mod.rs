//! Talking to running servers: the only code that dials one. RESP over a bounded
//! connection (`resp`, `deadline`), trust in the folder's pinned CAs alone (`pinned`),
//! reaching a folder's servers (`dial`), questions that change nothing (`ask`) and the
//! changes the commands make (`change`), each named as what it is.

pub(crate) mod ask;
pub(crate) mod change;
pub(crate) mod deadline;
pub(crate) mod dial;
pub(crate) mod pinned;
pub(crate) mod resp;
