//! One module per subcommand; each is a thin call into a library function.

pub mod detect;
pub mod eval;
pub mod generate;
pub mod keys;
pub mod probe;
pub mod serve;
pub mod sign;
pub mod train;
pub mod transcode;
pub mod verify;
