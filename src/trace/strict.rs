//! Strict reading of trace files: where in the JSON a bad value is, and which keys the trace
//! format does not know.
//!
//! serde reports *what* is wrong ("invalid value: integer `256`, expected u8") but, inside the
//! internally tagged action enum, not *where*. [`locate_error`] finds the place: it parses each
//! action (and its RPC or timer), the origin and the expectation on their own, then matches the
//! value the message quotes against the leaves of the offending object, so that the error names
//! the key path (`actions[17].channel`). [`unknown_key`] compares the file with what the parsed
//! trace writes back: a key present in the file but not in the re-serialization is unknown.

use crate::error::{plain_serde_message, InputError};
use crate::system::world::{Action, RpcKey, Timer};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The input error for a trace that serde rejected: the file, the key path and the reason.
pub fn locate_error(file: &str, value: &Value, error: &serde_json::Error) -> InputError {
    // The parts that serde cannot place: each action, then the origin and the expectation.
    if let Some(actions) = value.get("actions").and_then(Value::as_array) {
        for (index, action) in actions.iter().enumerate() {
            if let Some((key, reason)) = action_error(action) {
                return InputError::new(file, format!("actions[{index}]{key}"), reason);
            }
        }
    }
    for (field, check) in [
        (
            "origin",
            parse_error::<super::Origin> as fn(&Value) -> Option<String>,
        ),
        ("expected", parse_error::<super::Expected>),
    ] {
        if let Some(part) = value.get(field) {
            if let Some(message) = check(part) {
                let key = locate(part, &message).unwrap_or_default();
                return InputError::new(file, format!("{field}{key}"), reason_of(&message));
            }
        }
    }
    let message = error.to_string();
    let message = strip_position(&message);
    let key = named_field(message)
        .or_else(|| locate(value, message).map(|k| k.trim_start_matches('.').to_string()))
        .unwrap_or_default();
    InputError::new(file, key, reason_of(message))
}

/// The key path below an action (`.rpc.task`, or empty) and the reason it does not parse.
fn action_error(action: &Value) -> Option<(String, String)> {
    let message = parse_error::<Action>(action)?;
    for (field, check) in [
        ("rpc", parse_error::<RpcKey> as fn(&Value) -> Option<String>),
        ("timer", parse_error::<Timer>),
    ] {
        if let Some(part) = action.get(field) {
            if let Some(inner) = check(part) {
                let key = locate(part, &inner).unwrap_or_default();
                return Some((format!(".{field}{key}"), reason_of(&inner)));
            }
        }
    }
    let key = locate(action, &message).unwrap_or_default();
    Some((key, reason_of(&message)))
}

fn parse_error<T: DeserializeOwned>(value: &Value) -> Option<String> {
    serde_json::from_value::<T>(value.clone())
        .err()
        .map(|e| strip_position(&e.to_string()).to_string())
}

/// serde_json's "at line L column C" is meaningless for a value parsed from a tree.
fn strip_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(at) => &message[..at],
        None => message,
    }
}

/// The message in the user's terms.
fn reason_of(message: &str) -> String {
    let message = plain_serde_message(message);
    if let Some(rest) = message.strip_prefix("unknown field") {
        format!("unknown key{rest}")
    } else if let Some(rest) = message.strip_prefix("missing field") {
        format!("missing key{rest}")
    } else {
        message
    }
}

/// The key a "missing field `x`" or "unknown field `x`" message names.
fn named_field(message: &str) -> Option<String> {
    ["missing field `", "unknown field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next())
        .map(str::to_string)
}

/// Where in `value` the problem a serde message describes is, as a key path relative to it
/// (`.channel`, `.rpc.kind`, `[3]`), or `None` when it cannot tell.
pub fn locate(value: &Value, message: &str) -> Option<String> {
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    {
        return Some(format!(".{field}"));
    }
    if let Some(field) = named_field(message) {
        return find(value, &|key, _| key == Some(field.as_str()));
    }
    if let Some(variant) = message
        .strip_prefix("unknown variant `")
        .and_then(|rest| rest.split('`').next())
    {
        return find(value, &|_, leaf| leaf.as_str() == Some(variant));
    }
    // "invalid type: integer `256`, expected ..." / "invalid value: string \"x\", expected ...".
    let unexpected = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))?;
    let unexpected = unexpected.split(", expected").next().unwrap_or(unexpected);
    if let Some(text) = unexpected
        .strip_prefix("string \"")
        .and_then(|rest| rest.strip_suffix('"'))
    {
        return find(value, &|_, leaf| leaf.as_str() == Some(text));
    }
    let quoted = unexpected.split('`').nth(1);
    match (unexpected.split(' ').next(), quoted) {
        (Some("integer" | "floating"), Some(number)) => find(value, &|_, leaf| {
            leaf.is_number() && *leaf.to_string() == *number
                || leaf
                    .as_f64()
                    .is_some_and(|f| number.parse::<f64>() == Ok(f))
        }),
        (Some("boolean"), Some(flag)) => find(value, &|_, leaf| {
            leaf.as_bool().map(|b| b.to_string()).as_deref() == Some(flag)
        }),
        (Some("map"), _) => find(value, &|key, leaf| key.is_some() && leaf.is_object()),
        (Some("sequence"), _) => find(value, &|key, leaf| key.is_some() && leaf.is_array()),
        (Some("null"), _) => find(value, &|key, leaf| key.is_some() && leaf.is_null()),
        _ => None,
    }
}

/// The path of the first value (depth first, in key order) below `value` that `matches`; the key
/// is its name in its object (`None` for array elements and the root).
fn find(value: &Value, matches: &dyn Fn(Option<&str>, &Value) -> bool) -> Option<String> {
    fn walk(
        value: &Value,
        key: Option<&str>,
        path: &mut String,
        matches: &dyn Fn(Option<&str>, &Value) -> bool,
        depth: usize,
    ) -> bool {
        if key.is_some() && matches(key, value) {
            return true;
        }
        if depth > 64 {
            return false;
        }
        let length = path.len();
        match value {
            Value::Object(map) => {
                for (name, child) in map {
                    path.push('.');
                    path.push_str(name);
                    if walk(child, Some(name), path, matches, depth + 1) {
                        return true;
                    }
                    path.truncate(length);
                }
            }
            Value::Array(items) => {
                for (index, child) in items.iter().enumerate() {
                    path.push_str(&format!("[{index}]"));
                    if matches(None, child) && !child.is_object() && !child.is_array()
                        || walk(child, None, path, matches, depth + 1)
                    {
                        return true;
                    }
                    path.truncate(length);
                }
            }
            _ => {}
        }
        false
    }
    let mut path = String::new();
    walk(value, None, &mut path, matches, 0).then_some(path)
}

/// The first key (as a path below `prefix`) that `input` has and `written` lacks: a key the trace
/// format does not know. Arrays are compared element by element.
pub fn unknown_key(input: &Value, written: &Value, prefix: &str) -> Option<String> {
    match (input, written) {
        (Value::Object(have), Value::Object(known)) => {
            for (key, child) in have {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                match known.get(key) {
                    None => return Some(path),
                    Some(known_child) => {
                        if let Some(found) = unknown_key(child, known_child, &path) {
                            return Some(found);
                        }
                    }
                }
            }
            None
        }
        (Value::Array(have), Value::Array(known)) => have
            .iter()
            .zip(known)
            .enumerate()
            .find_map(|(index, (a, b))| unknown_key(a, b, &format!("{prefix}[{index}]"))),
        _ => None,
    }
}
