//! Process names, paths and buffers are hostile data: escape them the way strace does before they reach a
//! terminal, and keep JSON valid whatever the bytes are.

use std::fmt::Write as _;

/// strace's quoting: printable ASCII as is, `\t \n \v \f \r \\ \"` by name, everything else as octal.
#[cfg(test)]
pub fn c_escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    push_c_escaped(&mut out, bytes);
    out
}

/// strace's quoting (`c_escape`), appended to `out`: runs of bytes shown as they are go in one copy each (the
/// reader quotes the buffers and paths of up to millions of calls a second).
fn push_c_escaped(out: &mut String, bytes: &[u8]) {
    let mut rest = bytes;
    while !rest.is_empty() {
        let plain = rest.iter().position(|&b| !shown_as_is(b)).unwrap_or(rest.len());
        // Printable ASCII only: valid UTF-8.
        out.push_str(std::str::from_utf8(&rest[..plain]).unwrap_or_default());
        let Some(&b) = rest.get(plain) else { break };
        push_byte_escape(out, b, rest.get(plain + 1).copied());
        rest = &rest[plain + 1..];
    }
}

/// Whether strace shows the byte as it is: printable ASCII but the quote and the backslash.
fn shown_as_is(b: u8) -> bool {
    matches!(b, 0x20..=0x7e) && b != b'"' && b != b'\\'
}

/// The escape of one byte not `shown_as_is`, `next` the byte after it (if any).
fn push_byte_escape(out: &mut String, b: u8, next: Option<u8>) {
    match b {
        b'"' => out.push_str("\\\""),
        b'\\' => out.push_str("\\\\"),
        b'\t' => out.push_str("\\t"),
        b'\n' => out.push_str("\\n"),
        b'\x0b' => out.push_str("\\v"),
        b'\x0c' => out.push_str("\\f"),
        b'\r' => out.push_str("\\r"),
        // Shortest octal unless the next byte is an octal digit that would extend the escape.
        _ if next.is_some_and(|n| (b'0'..=b'7').contains(&n)) => {
            let _ = write!(out, "\\{b:03o}");
        }
        _ => {
            let _ = write!(out, "\\{b:o}");
        }
    }
}

/// A quoted string as strace prints it: `"abc"`, or `"ab"...` when cut.
#[cfg(test)]
pub fn quoted(bytes: &[u8], truncated: bool) -> String {
    let mut out = String::with_capacity(bytes.len() + 5);
    push_quoted(&mut out, bytes, truncated, StringStyle::Escaped);
    out
}

/// How quoted strings show their bytes: strace's default escapes, `-x` or `-xx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StringStyle {
    /// Printable ASCII as is, the rest escaped by name or in octal.
    #[default]
    Escaped,
    /// `-x`: a string holding any byte that is neither printable ASCII nor whitespace (`\t \n \v \f \r`) is
    /// shown whole in hex; others as `Escaped`.
    HexNonAscii,
    /// `-xx`: every string wholly in hex.
    HexAll,
}

impl StringStyle {
    /// `-x` given `count` times.
    pub fn from_count(count: u8) -> Self {
        match count {
            0 => StringStyle::Escaped,
            1 => StringStyle::HexNonAscii,
            _ => StringStyle::HexAll,
        }
    }
}

/// A quoted string in `style` (strace's `string_quote`): `"abc"`, `"\x61\x62"`, `"ab"...` when cut. Under `-x`
/// the bytes shown decide, as strace judges only what it prints.
pub fn quote(bytes: &[u8], truncated: bool, style: StringStyle) -> String {
    let mut out = String::with_capacity(bytes.len() + 5);
    push_quoted(&mut out, bytes, truncated, style);
    out
}

/// `quote`, appended to `out`.
pub fn push_quoted(out: &mut String, bytes: &[u8], truncated: bool, style: StringStyle) {
    if style.wants_hex(bytes) {
        out.push_str(&hex_quoted(bytes, truncated));
        return;
    }
    out.push('"');
    push_c_escaped(out, bytes);
    out.push('"');
    if truncated {
        out.push_str("...");
    }
}

impl StringStyle {
    /// Whether strace shows `bytes` in hex in this style.
    pub fn wants_hex(self, bytes: &[u8]) -> bool {
        match self {
            StringStyle::Escaped => false,
            StringStyle::HexNonAscii => bytes.iter().any(|&b| b > 0x7e || b < b' ' && !(b'\t'..=b'\r').contains(&b)),
            StringStyle::HexAll => true,
        }
    }
}

/// Every byte as `\xNN`, unquoted (an fd's path between `<` and `>` under `-x`).
pub fn hex_escaped(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(4 * bytes.len());
    for b in bytes {
        let _ = write!(out, "\\x{b:02x}");
    }
    out
}

/// Every byte in hex, as strace quotes the data it shows as bytes rather than text (getrandom's): `"\x02\xbe"`.
pub fn hex_quoted(bytes: &[u8], truncated: bool) -> String {
    let mut out = String::with_capacity(4 * bytes.len() + 5);
    out.push('"');
    for b in bytes {
        let _ = write!(out, "\\x{b:02x}");
    }
    out.push('"');
    if truncated {
        out.push_str("...");
    }
    out
}

/// A name for a text column: valid UTF-8 kept (control characters escaped), invalid bytes as `\xNN`, and the
/// characters that are invisible or reorder the text around them (bidi overrides and isolates, "Trojan Source")
/// as `\uXXXX`. strace shows every non-ASCII byte in octal; names here stay readable in any script, and only
/// what could make a terminal show something other than the bytes is escaped.
pub fn display_name(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                let _ = write!(out, "\\x{:02x}", c as u32);
            } else if is_invisible(c) {
                let _ = write!(out, "\\u{:04x}", c as u32);
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

/// Characters a terminal shows as nothing, or that reorder or hide the text around them: Unicode's format
/// characters (category Cf) that matter on a terminal, the line and paragraph separators, and the fillers that
/// render blank.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00ad}'                     // soft hyphen
        | '\u{034f}'                   // combining grapheme joiner
        | '\u{061c}'                   // Arabic letter mark
        | '\u{115f}' | '\u{1160}' | '\u{3164}' | '\u{ffa0}' // Hangul fillers
        | '\u{17b4}' | '\u{17b5}'      // Khmer inherent vowels
        | '\u{180b}'..='\u{180f}'      // Mongolian variation selectors and vowel separator
        | '\u{200b}'..='\u{200f}'      // zero-width space, (non-)joiner, LRM, RLM
        | '\u{2028}'..='\u{202e}'      // line/paragraph separators, LRE RLE PDF LRO RLO
        | '\u{2060}'..='\u{206f}'      // word joiner, invisible operators, LRI RLI FSI PDI, deprecated formats
        | '\u{fe00}'..='\u{fe0f}'      // variation selectors
        | '\u{feff}'                   // zero-width no-break space (BOM)
        | '\u{fff9}'..='\u{fffb}'      // interlinear annotation
        | '\u{1d173}'..='\u{1d17a}'    // musical formatting
        | '\u{e0000}'..='\u{e0fff}'    // tags and variation selectors supplement
    )
}

/// The bytes in hex (`636f6cff`), written where they are formatted.
pub struct Hex<'a>(pub &'a [u8]);

impl std::fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl serde::Serialize for Hex<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The name of a JSON field that holds bytes of a name or path (`comm`), and of its sibling (`comm_hex`).
pub trait FieldName {
    const TEXT: &'static str;
    const HEX: &'static str;
}

/// A name or path in a JSON record (a command name, an argument, a file name): the field `K::TEXT` as
/// `json_text` writes it (the bytes as they are when UTF-8, each byte that is not as `\xNN`), and, only when some
/// byte is not UTF-8, the sibling `K::HEX` with every byte in hex, because a name can also spell `\xff` literally.
/// It writes the two fields into its record, which holds it `#[serde(flatten)]`. `V` is the field's shape: bytes,
/// `Option` of bytes (null), a list of byte strings (`argv`; its `_hex` lists each one's hex, null where it is
/// UTF-8), or a name looked up when written (`TextShape`).
pub struct Text<K, V = Vec<u8>> {
    pub value: V,
    name: std::marker::PhantomData<fn() -> K>,
}

impl<K, V> Text<K, V> {
    pub fn new(value: V) -> Self {
        Text { value, name: std::marker::PhantomData }
    }
}

// By hand: derived, they would ask the same of the field's marker `K`.
impl<K, V: Clone> Clone for Text<K, V> {
    fn clone(&self) -> Self {
        Text::new(self.value.clone())
    }
}

impl<K, V: Default> Default for Text<K, V> {
    fn default() -> Self {
        Text::new(V::default())
    }
}

impl<K, V: std::fmt::Debug> std::fmt::Debug for Text<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.value.fmt(f)
    }
}

impl<K> Text<K> {
    pub fn of(bytes: &[u8]) -> Self {
        Text::new(bytes.to_vec())
    }
}

impl<K> Text<K, Option<Vec<u8>>> {
    pub fn of_some(bytes: Option<&[u8]>) -> Self {
        Text::new(bytes.map(<[u8]>::to_vec))
    }
}

impl<K> Text<K, Vec<Vec<u8>>> {
    pub fn list<'b>(items: impl IntoIterator<Item = &'b [u8]>) -> Self {
        Text::new(items.into_iter().map(<[u8]>::to_vec).collect())
    }
}

impl<K: FieldName, V: TextShape> serde::Serialize for Text<K, V> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        self.value.write_fields(&mut map, K::TEXT, K::HEX)?;
        map.end()
    }
}

impl<K: FieldName, V: TextShape> Text<K, V> {
    /// The field and, when needed, its `_hex` sibling, as serde writes them (`"comm":"cat"`), appended to a JSON
    /// line being written without serde.
    pub fn push_json(&self, out: &mut Vec<u8>) {
        self.value.push_json_fields(out, K::TEXT, K::HEX);
    }
}

/// What a `Text` can hold: how it writes its field and, when needed, the `_hex` sibling, through serde or
/// straight into a JSON line (`push_json_fields`, byte for byte the same).
pub trait TextShape {
    fn write_fields<M: serde::ser::SerializeMap>(&self, map: &mut M, text: &str, hex: &str) -> Result<(), M::Error>;
    fn push_json_fields(&self, out: &mut Vec<u8>, text: &str, hex: &str);
}

/// `write_name` straight into a JSON line: `"text":"..."`, and `,"hex":"..."` when the bytes are not UTF-8.
pub fn push_json_name(out: &mut Vec<u8>, bytes: &[u8], text: &str, hex: &str) {
    push_json_key(out, text);
    match std::str::from_utf8(bytes) {
        Ok(valid) => push_json_str(out, valid),
        Err(_) => {
            push_json_text(out, bytes);
            out.push(b',');
            push_json_key(out, hex);
            push_json_hex(out, bytes);
        }
    }
}

/// `"key":`.
fn push_json_key(out: &mut Vec<u8>, key: &str) {
    push_json_str(out, key);
    out.push(b':');
}

/// `JsonText` as serde writes it: the escaped text of the valid UTF-8, each invalid byte as `\\xNN` (the
/// backslash of `json_text`'s `\xNN`, escaped).
fn push_json_text(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    for chunk in bytes.utf8_chunks() {
        push_json_str_contents(out, chunk.valid());
        for &b in chunk.invalid() {
            out.extend_from_slice(b"\\\\x");
            out.extend_from_slice(&hex_digits(b));
        }
    }
    out.push(b'"');
}

/// `Hex` as serde writes it: `"636f6cff"`.
fn push_json_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    for &b in bytes {
        out.extend_from_slice(&hex_digits(b));
    }
    out.push(b'"');
}

/// A byte's two lowercase hex digits.
fn hex_digits(b: u8) -> [u8; 2] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 0xf)]]
}

/// `text` as a JSON string, quotes included, escaped exactly as serde_json escapes it (the lines written without
/// serde must stay the same bytes): `"`, `\\` and the control characters U+0000 to U+001F (`\b \t \n \f \r`
/// by name, the others as `\u00XX`) escaped, everything else as it is.
pub fn push_json_str(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    push_json_str_contents(out, text);
    out.push(b'"');
}

/// `push_json_str` without the quotes: runs of bytes that need no escape go in one copy each.
fn push_json_str_contents(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    let mut plain_from = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b >= 0x20 && b != b'"' && b != b'\\' {
            continue;
        }
        out.extend_from_slice(&bytes[plain_from..i]);
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\x08' => out.extend_from_slice(b"\\b"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\x0c' => out.extend_from_slice(b"\\f"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => {
                out.extend_from_slice(b"\\u00");
                out.extend_from_slice(&hex_digits(b));
            }
        }
        plain_from = i + 1;
    }
    out.extend_from_slice(&bytes[plain_from..]);
}

/// One name's field and, when it is not UTF-8, its `_hex` sibling.
pub fn write_name<M: serde::ser::SerializeMap>(
    map: &mut M,
    bytes: &[u8],
    text: &str,
    hex: &str,
) -> Result<(), M::Error> {
    match std::str::from_utf8(bytes) {
        Ok(valid) => map.serialize_entry(text, valid),
        Err(_) => {
            map.serialize_entry(text, &JsonText(bytes))?;
            map.serialize_entry(hex, &Hex(bytes))
        }
    }
}

impl TextShape for Vec<u8> {
    fn write_fields<M: serde::ser::SerializeMap>(&self, map: &mut M, text: &str, hex: &str) -> Result<(), M::Error> {
        write_name(map, self, text, hex)
    }

    fn push_json_fields(&self, out: &mut Vec<u8>, text: &str, hex: &str) {
        push_json_name(out, self, text, hex);
    }
}

impl TextShape for Option<Vec<u8>> {
    fn write_fields<M: serde::ser::SerializeMap>(&self, map: &mut M, text: &str, hex: &str) -> Result<(), M::Error> {
        match self {
            Some(bytes) => write_name(map, bytes, text, hex),
            None => map.serialize_entry(text, &()),
        }
    }

    fn push_json_fields(&self, out: &mut Vec<u8>, text: &str, hex: &str) {
        match self {
            Some(bytes) => push_json_name(out, bytes, text, hex),
            None => {
                push_json_key(out, text);
                out.extend_from_slice(b"null");
            }
        }
    }
}

impl TextShape for Vec<Vec<u8>> {
    fn write_fields<M: serde::ser::SerializeMap>(&self, map: &mut M, text: &str, hex: &str) -> Result<(), M::Error> {
        let texts: Vec<JsonText<'_>> = self.iter().map(|b| JsonText(b)).collect();
        map.serialize_entry(text, &texts)?;
        if self.iter().any(|b| std::str::from_utf8(b).is_err()) {
            let hexes: Vec<Option<Hex<'_>>> =
                self.iter().map(|b| std::str::from_utf8(b).is_err().then_some(Hex(b))).collect();
            map.serialize_entry(hex, &hexes)?;
        }
        Ok(())
    }

    fn push_json_fields(&self, out: &mut Vec<u8>, text: &str, hex: &str) {
        push_json_key(out, text);
        out.push(b'[');
        for (i, bytes) in self.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_json_text(out, bytes);
        }
        out.push(b']');
        if self.iter().any(|b| std::str::from_utf8(b).is_err()) {
            out.push(b',');
            push_json_key(out, hex);
            out.push(b'[');
            for (i, bytes) in self.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                match std::str::from_utf8(bytes) {
                    Ok(_) => out.extend_from_slice(b"null"),
                    Err(_) => push_json_hex(out, bytes),
                }
            }
            out.push(b']');
        }
    }
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
    fn escapes_runs_as_byte_by_byte() {
        // One byte at a time, as c_escape applied strace's rule before it copied runs.
        fn byte_by_byte(bytes: &[u8]) -> String {
            let mut out = String::new();
            for (i, &b) in bytes.iter().enumerate() {
                if shown_as_is(b) {
                    out.push(b as char);
                } else {
                    push_byte_escape(&mut out, b, bytes.get(i + 1).copied());
                }
            }
            out
        }
        for first in 0..=255u8 {
            for second in 0..=255u8 {
                for bytes in [&[first, second][..], &[b'a', first, second, b'7'], &[first, b'b', b'c', second]] {
                    assert_eq!(c_escape(bytes), byte_by_byte(bytes), "{bytes:?}");
                }
            }
        }
    }

    #[test]
    fn hex_styles_as_strace_x_and_xx() {
        let data = b"abc\x01\xff\n\t\"\\12z";
        assert_eq!(
            quote(data, false, StringStyle::HexNonAscii),
            r#""\x61\x62\x63\x01\xff\x0a\x09\x22\x5c\x31\x32\x7a""#
        );
        assert_eq!(quote(b"# Locale\n#", true, StringStyle::HexNonAscii), r##""# Locale\n#"..."##);
        assert_eq!(quote("caf\u{e9}".as_bytes(), false, StringStyle::HexNonAscii), r#""\x63\x61\x66\xc3\xa9""#);
        assert_eq!(quote(b"x", true, StringStyle::HexAll), r#""\x78"..."#);
        assert_eq!(quote(b"", false, StringStyle::HexAll), r#""""#);
        assert_eq!(quote(b"a\x01", false, StringStyle::Escaped), r#""a\1""#);
        assert_eq!(StringStyle::from_count(3), StringStyle::HexAll);
    }

    #[test]
    fn names_keep_utf8_and_escape_the_rest() {
        assert_eq!(display_name("café".as_bytes()), "café");
        assert_eq!(display_name(b"evil\x1b[2J"), "evil\\x1b[2J");
        assert_eq!(display_name(b"bad\xff"), "bad\\xff");
        assert_eq!(json_text(b"evil\nname\x1b"), "evil\nname\x1b");
        assert_eq!(json_text(b"bad\xff"), "bad\\xff");
    }

    #[test]
    fn invisible_and_reordering_characters_are_escaped() {
        // "Trojan Source": RLO would show `evil\u202egpj.exe` as `evilexe.jpg`.
        assert_eq!(display_name("evil\u{202e}gpj.exe".as_bytes()), "evil\\u202egpj.exe");
        for c in ['\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}'] {
            assert_eq!(display_name(format!("a{c}b").as_bytes()), format!("a\\u{:04x}b", c as u32));
        }
        assert_eq!(display_name("a\u{200e}\u{200f}\u{200b}\u{feff}b".as_bytes()), "a\\u200e\\u200f\\u200b\\ufeffb");
        assert_eq!(display_name("\u{e0041}".as_bytes()), "\\ue0041");
        // Visible text of any script is kept.
        assert_eq!(display_name("日本語 ελληνικά עברית".as_bytes()), "日本語 ελληνικά עברית");
    }

    /// Strings holding every ASCII character, next to each other and next to plain runs, and non-ASCII text.
    fn json_test_strings() -> Vec<String> {
        let mut strings: Vec<String> = (0..=0x7fu8).map(|b| char::from(b).to_string()).collect();
        strings.extend((0..=0x7fu8).map(|b| format!("ab{}cd{}", char::from(b), char::from(b ^ 0x0a))));
        strings.extend(
            [
                "",
                "plain",
                "\"a\\x\"...",
                "\u{1}\u{1f}\u{7f}",
                "caf\u{e9} \u{65e5}\u{672c} \u{1f600}",
                "\u{202e}\u{2028}",
            ]
            .map(String::from),
        );
        strings
    }

    #[test]
    fn json_strings_are_escaped_as_serde_does() {
        for text in json_test_strings() {
            let mut out = Vec::new();
            push_json_str(&mut out, &text);
            assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&text).unwrap(), "{text:?}");
        }
    }

    #[test]
    fn names_are_written_as_serde_writes_them() {
        struct Name;
        impl FieldName for Name {
            const TEXT: &'static str = "name";
            const HEX: &'static str = "name_hex";
        }
        fn direct<V: TextShape>(text: &Text<Name, V>) -> String {
            let mut out = vec![b'{'];
            text.push_json(&mut out);
            out.push(b'}');
            String::from_utf8(out).unwrap()
        }
        let mut names: Vec<Vec<u8>> = json_test_strings().into_iter().map(String::into_bytes).collect();
        // Not UTF-8: a lone byte, a cut sequence, bytes between escapes, a name that spells an escape out.
        names.extend(
            [&b"\xff"[..], b"col\xff", b"\xe6\x97", b"a\"\x80\n\xc3(\\", br"col\xff", b"\x00\xfe\x01"]
                .map(<[u8]>::to_vec),
        );
        for name in &names {
            let text = Text::<Name>::of(name);
            assert_eq!(direct(&text), serde_json::to_string(&text).unwrap(), "{name:?}");
            let some = Text::<Name, Option<Vec<u8>>>::of_some(Some(name));
            assert_eq!(direct(&some), serde_json::to_string(&some).unwrap(), "{name:?}");
        }
        let none = Text::<Name, Option<Vec<u8>>>::of_some(None);
        assert_eq!(direct(&none), r#"{"name":null}"#);
        assert_eq!(direct(&none), serde_json::to_string(&none).unwrap());
        for list in [&[][..], &names[..1], &names[..], &names[names.len() - 3..]] {
            let text = Text::<Name, Vec<Vec<u8>>>::list(list.iter().map(Vec::as_slice));
            assert_eq!(direct(&text), serde_json::to_string(&text).unwrap(), "{list:?}");
        }
    }

    #[test]
    fn invalid_utf8_is_told_apart_from_its_escape_spelled_out() {
        assert_eq!(json_text(b"col\xff"), json_text(br"col\xff"), "the lossy text alone is the same");
        struct Name;
        impl FieldName for Name {
            const TEXT: &'static str = "name";
            const HEX: &'static str = "name_hex";
        }
        let json = |bytes: &[u8]| serde_json::to_string(&Text::<Name>::of(bytes)).unwrap();
        assert_eq!(json(b"col\xff"), r#"{"name":"col\\xff","name_hex":"636f6cff"}"#);
        assert_eq!(json(br"col\xff"), r#"{"name":"col\\xff"}"#);
        assert_eq!(json("café\n".as_bytes()), r#"{"name":"café\n"}"#);
        let none = Text::<Name, Option<Vec<u8>>>::of_some(None);
        assert_eq!(serde_json::to_string(&none).unwrap(), r#"{"name":null}"#);
        let list = |items: [&[u8]; 2]| serde_json::to_string(&Text::<Name, Vec<Vec<u8>>>::list(items)).unwrap();
        assert_eq!(list([b"ls", br"\xff"]), r#"{"name":["ls","\\xff"]}"#);
        assert_eq!(list([b"ls", b"\xff"]), r#"{"name":["ls","\\xff"],"name_hex":[null,"ff"]}"#);
    }
}
