//! One module per subcommand.

pub(crate) mod docs;
pub(crate) mod doctor;
pub(crate) mod generate;
pub(crate) mod inspect;
pub(crate) mod profiles;
pub(crate) mod renew;
pub(crate) mod rotate_password;
pub(crate) mod stdout;
pub(crate) mod verify;
