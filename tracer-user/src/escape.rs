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
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// An argument as a shell would need it typed, as bash's `printf %q` and strace's `-e` lists show commands: as it
/// is when it holds only safe characters, in single quotes when it holds spaces or shell syntax
/// (`'echo hello world'`, a quote as `'\''`), as `$'...'` with escapes when it holds control bytes or bytes that
/// are not UTF-8 (`$'a\nb'`), `''` when empty.
pub fn shell_quote(arg: &[u8]) -> String {
    let safe = |b: u8| b.is_ascii_alphanumeric() || b"_-./:,+=@%^".contains(&b);
    if arg.is_empty() {
        return "''".to_string();
    }
    if arg.iter().all(|&b| safe(b)) {
        return String::from_utf8_lossy(arg).into_owned();
    }
    let text = std::str::from_utf8(arg).ok().filter(|t| !t.chars().any(char::is_control));
    if let Some(text) = text {
        return format!("'{}'", text.replace('\'', "'\\''"));
    }
    let mut out = String::from("$'");
    for chunk in arg.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                '\\' => out.push_str("\\\\"),
                '\'' => out.push_str("\\'"),
                c if c.is_control() => {
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        let _ = write!(out, "\\x{b:02x}");
                    }
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out.push('\'');
    out
}

/// A command line as a shell would need it typed: each argument `shell_quote`d, separated by spaces.
pub fn shell_command(argv: &[&[u8]]) -> String {
    argv.iter().map(|a| shell_quote(a)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_arguments_as_a_shell_needs_them() {
        let argv: [&[u8]; 3] = [b"sh", b"-c", b"echo hello world"];
        assert_eq!(shell_command(&argv), "sh -c 'echo hello world'");
        assert_eq!(shell_quote(b"it's"), "'it'\\''s'");
        assert_eq!(shell_quote(b""), "''");
        assert_eq!(shell_quote(b"a\nb\x1b"), "$'a\\nb\\x1b'");
        assert_eq!(shell_quote(b"bad\xff"), "$'bad\\xff'");
        assert_eq!(shell_quote(b"/usr/bin/python3.11"), "/usr/bin/python3.11");
        assert_eq!(shell_quote("café".as_bytes()), "'café'");
    }

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
