//! The HTTP handlers: each parses its request, calls the library, and answers.

pub mod health;
pub mod jobs;
pub mod resolution;
pub mod sign;
pub mod verify;
