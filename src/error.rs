//! Input errors: a file the user gave us that we cannot use, with the file, the key and the
//! reason. The binary turns every one of them into exit code 2.
//!
//! Keys and reasons are cut to a readable length (a hostile file may hold a multi-megabyte key),
//! and [`read_input`] is the one way input files are read: regular files only (a FIFO or a device
//! such as `/dev/zero` is refused before it is opened), no larger than a cap.

use std::fmt;
use std::io::Read;

/// The longest key an error message shows (longer ones are cut with `...`).
pub const MAX_KEY_CHARS: usize = 120;
/// The longest reason an error message shows.
pub const MAX_REASON_CHARS: usize = 2_000;

/// A bad model file, trace file or command-line value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    pub file: String,
    /// The offending key (`checkpointing.interval`, `actions[12].channel`), or empty.
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
            file: shorten(&file.into(), MAX_REASON_CHARS),
            key: shorten(&key.into(), MAX_KEY_CHARS),
            reason: shorten(&shorten_quoted(&reason.into()), MAX_REASON_CHARS),
        }
    }
}

/// `text` cut to at most `max` characters (on a character boundary), marked with `...`.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max.saturating_sub(3)).collect();
    format!("{cut}...")
}

/// `text` with every `` `quoted` `` or `"quoted"` run longer than [`MAX_KEY_CHARS`] cut (a
/// message that echoes a hostile key or value stays readable).
pub fn shorten_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(4 * MAX_REASON_CHARS));
    let mut rest = text;
    while let Some(start) = rest.find(['`', '"']) {
        let quote = rest[start..].chars().next().unwrap_or('`');
        out.push_str(&rest[..=start]);
        let after = &rest[start + 1..];
        match after.find(quote) {
            Some(end) => {
                out.push_str(&shorten(&after[..end], MAX_KEY_CHARS));
                out.push(quote);
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&shorten(after, MAX_KEY_CHARS));
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
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

/// Reads the input file at `path` as UTF-8 text, refusing anything that is not a regular file
/// (directories, FIFOs, sockets, devices such as `/dev/zero`: checked before the file is opened,
/// so nothing blocks) and files larger than `max_bytes`. `what` names the kind of file in messages
/// ("model file", "trace file").
pub fn read_input(path: &str, what: &str, max_bytes: u64) -> Result<String, InputError> {
    let fail = |reason: String| InputError::new(path, "", reason);
    if path.is_empty() {
        return Err(fail(format!("the {what} path is empty")));
    }
    let metadata =
        std::fs::metadata(path).map_err(|e| fail(format!("cannot read the file: {e}")))?;
    if metadata.is_dir() {
        return Err(fail(format!("is a directory, not a {what}")));
    }
    if !metadata.is_file() {
        return Err(fail(format!(
            "is not a regular file (a pipe, socket or device?); give a {what} saved on disk"
        )));
    }
    if metadata.len() > max_bytes {
        return Err(fail(format!(
            "is {} bytes, more than the {max_bytes} bytes a {what} may have",
            metadata.len()
        )));
    }
    let file = std::fs::File::open(path).map_err(|e| fail(format!("cannot read the file: {e}")))?;
    // The file may grow between the check and the read: never read more than the cap.
    let mut bytes = Vec::new();
    file.take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(format!("cannot read the file: {e}")))?;
    if bytes.len() as u64 > max_bytes {
        return Err(fail(format!(
            "is more than the {max_bytes} bytes a {what} may have"
        )));
    }
    String::from_utf8(bytes).map_err(|e| {
        fail(format!(
            "is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// A serde message in the user's words: Rust type names (`u8`, `struct CheckpointingFile`,
/// `internally tagged enum Action`) become what the file must hold.
pub fn plain_serde_message(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let words: Vec<&str> = message.split(' ').collect();
    let mut index = 0;
    while index < words.len() {
        let word = words[index];
        let next = words.get(index + 1).copied().unwrap_or("");
        let (trimmed, tail) = split_punctuation(word);
        let replacement: Option<(String, usize)> = match trimmed {
            "u8" => Some(("a whole number from 0 to 255".into(), 1)),
            "u16" => Some(("a whole number from 0 to 65535".into(), 1)),
            "u32" => Some(("a whole number from 0 to 4294967295".into(), 1)),
            "u64" | "usize" => Some(("a whole number of at least 0".into(), 1)),
            "i8" | "i16" | "i32" | "i64" | "isize" => Some(("a whole number".into(), 1)),
            "f32" | "f64" => Some(("a number".into(), 1)),
            "struct" => Some(("a table (an object)".into(), 2)),
            "enum" => Some(("one of the documented names".into(), 2)),
            "internally" if next == "tagged" => Some(("an object with its kind".into(), 4)),
            "adjacently" if next == "tagged" => Some(("an object with its kind".into(), 4)),
            "untagged" => Some(("one of the documented forms".into(), 3)),
            _ => None,
        };
        if !out.is_empty() {
            out.push(' ');
        }
        match replacement {
            Some((text, consumed)) => {
                // The last consumed word carries the punctuation that followed the type name.
                let last = words.get(index + consumed - 1).copied().unwrap_or(word);
                out.push_str(&text);
                out.push_str(split_punctuation(last).1);
                index += consumed;
            }
            None => {
                out.push_str(trimmed);
                out.push_str(tail);
                index += 1;
            }
        }
    }
    out
}

fn split_punctuation(word: &str) -> (&str, &str) {
    let end = word
        .char_indices()
        .rev()
        .take_while(|(_, c)| matches!(c, ',' | '.' | ';' | ':' | ')'))
        .last()
        .map_or(word.len(), |(i, _)| i);
    word.split_at(end)
}
