//! Input errors: a file the user gave us that we cannot use, with the file, the key and the
//! reason. The binary turns every one of them into exit code 2.

use std::fmt;

/// A bad model file, trace file or command-line value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    pub file: String,
    /// The offending key (`checkpointing.interval`, `actions[12]`), or empty.
    pub key: String,
    pub reason: String,
}

impl InputError {
    pub fn new(
        file: impl Into<String>,
        key: impl Into<String>,
        reason: impl Into<String>,
    ) -> InputError {
        InputError {
            file: file.into(),
            key: key.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file, self.reason)
        } else {
            write!(f, "{}: key `{}`: {}", self.file, self.key, self.reason)
        }
    }
}

impl std::error::Error for InputError {}
