//! One module per subcommand.

pub mod docs;
pub mod doctor;
pub mod generate;
pub mod inspect;
pub mod profiles;
pub mod renew;
pub mod verify;
