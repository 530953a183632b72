//! Secrets and who may try them: password hashing, random tokens and their hashes, and the
//! throttle on logins and password resets.

pub mod password;
pub mod throttle;
pub mod token;
