//! verity-fs: the two rules every verity command keeps with files.
//!
//! - **An output appears whole or not at all.** Writers write under a hidden temporary name
//!   beside the target ([`TempPath`]) and rename it over the target when done. A temporary is
//!   removed when its writer fails or is dropped, and [`remove_all_temporaries`] removes every
//!   live one when the process is interrupted (the binary calls it from its SIGINT/SIGTERM
//!   handler). Temporaries left by a process that was killed outright are swept by the next
//!   writer of the same target.
//! - **A small input is read with a bound.** Keys, certificate chains, trust anchors and
//!   configs are kilobytes; [`read_bounded`] refuses what is not a regular file (a FIFO would
//!   block forever, `/dev/zero` would never end) and what is larger than the caller's cap.

mod read;
mod temp;

pub use read::{InputError, describe_kind, read_bounded};
pub use temp::{TempPath, remove_all_temporaries, write_private, write_whole};
