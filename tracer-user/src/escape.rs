//! Process names, paths and buffers are hostile data: escape them the way strace does before they reach a
//! terminal, and keep JSON valid whatever the bytes are.

use std::fmt::Write as _;

/// strace's quoting: printable ASCII as is, `\t \n \v \f \r \\ \"` by name, everything else as octal.
pub fn c_escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\x0b' => out.push_str("\\v"),
            b'\x0c' => out.push_str("\\f"),
            b'\r' => out.push_str("\\r"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                // Shortest octal unless the next byte is a digit that would extend the escape.
                let next_is_digit = bytes.get(i + 1).is_some_and(|n| n.is_ascii_digit());
                if next_is_digit {
                    let _ = write!(out, "\\{b:03o}");
                } else {
                    let _ = write!(out, "\\{b:o}");
                }
            }
        }
    }
    out
}

/// A quoted string as strace prints it: `"abc"`, or `"ab"...` when cut.
pub fn quoted(bytes: &[u8], truncated: bool) -> String {
    let mut out = String::with_capacity(bytes.len() + 5);
    out.push('"');
    out.push_str(&c_escape(bytes));
    out.push('"');
    if truncated {
        out.push_str("...");
    }
    out
}

/// A name for a text column: valid UTF-8 kept (control characters escaped), invalid bytes as `\xNN`.
pub fn display_name(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                let _ = write!(out, "\\x{:02x}", c as u32);
            } else if c == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// Text for a JSON string: valid UTF-8 kept as it is (JSON escapes control characters itself), invalid bytes as
/// `\xNN` so that the line stays valid JSON and the bytes stay recoverable.
pub fn json_text(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let _ = write!(out, "{}", JsonText(bytes));
    out
}

/// `json_text` written where it is formatted (a JSON string serialized in place, with no `String` between).
pub struct JsonText<'a>(pub &'a [u8]);

impl std::fmt::Display for JsonText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for chunk in self.0.utf8_chunks() {
            f.write_str(chunk.valid())?;
            for b in chunk.invalid() {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

impl serde::Serialize for JsonText<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Names are nearly always UTF-8: written as they are, without the formatter in between.
        match std::str::from_utf8(self.0) {
            Ok(text) => serializer.serialize_str(text),
            Err(_) => serializer.collect_str(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_strace() {
        assert_eq!(c_escape(b"hello world!\n"), "hello world!\\n");
        assert_eq!(c_escape(b"\x7fELF\x02\x01"), "\\177ELF\\2\\1");
        assert_eq!(c_escape(b"\x001"), "\\0001");
        assert_eq!(c_escape(b"a\"b\\"), "a\\\"b\\\\");
        assert_eq!(quoted(b"abc", true), "\"abc\"...");
    }

    #[test]
    fn names_keep_utf8_and_escape_the_rest() {
        assert_eq!(display_name("café".as_bytes()), "café");
        assert_eq!(display_name(b"evil\x1b[2J"), "evil\\x1b[2J");
        assert_eq!(display_name(b"bad\xff"), "bad\\xff");
        assert_eq!(json_text(b"evil\nname\x1b"), "evil\nname\x1b");
        assert_eq!(json_text(b"bad\xff"), "bad\\xff");
    }
}
