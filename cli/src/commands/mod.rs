//! One module per subcommand; each is a thin call into a library function.

pub mod probe;
pub mod transcode;
