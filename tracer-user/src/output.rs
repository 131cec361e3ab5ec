//! Sinks shared by every command: events to stdout or `-o FILE`, as text lines or JSON lines (the field names
//! in ../shared/DESIGN.md are a contract), and the clock conversion that stamps them.
//!
//! Losing the output does not stop tracing: a write that fails (a full disk, EIO) drops the record, counts it,
//! says so on stderr once per streak of failures, and writing resumes when it works again. Only a reader that went
//! away (EPIPE: `tracer ... | head`) ends the stream, quietly.

use std::{
    fs::{File, OpenOptions},
    io::{self, IsTerminal as _, Write},
    os::unix::fs::{MetadataExt as _, OpenOptionsExt as _},
    path::Path,
};

use anyhow::Context as _;
use serde::Serialize;

use crate::records::Origin;

/// The reader went away (closed pipe): stop quietly, as `head` expects.
#[derive(Debug, thiserror::Error)]
#[error("output closed")]
pub struct OutputClosed;

/// Bytes `Output` holds before it writes them out (it writes out what it holds before a line would take it past).
const BUFFER_CAPACITY: usize = 64 * 1024;

pub struct Output {
    writer: Box<dyn Write + Send>,
    /// Whole lines not written out yet, each made in place (the buffering of a `BufWriter` without its copy of
    /// every line: a `--json` line is 300 bytes and more).
    pending: Vec<u8>,
    /// Private: handlers never look at the format; the `emit` methods do.
    json: bool,
    interactive: bool,
    /// Writes have been failing since the last one that reached the output.
    failing: bool,
    /// Records that could not be written (dropped), over the whole run.
    pub dropped: u64,
    /// Records dropped in the current streak of failures.
    dropped_in_streak: u64,
    /// The text line `emit_in` has a handler write, kept to be reused.
    text_line: String,
    /// Where the process of the event being handled was (`set_origin`): added to every record written for it, as
    /// JSON fields and as the text column, so that no handler builds them.
    /// Kept after the event (`active` false) rather than dropped: the next event is mostly the same process's,
    /// and then neither the origin (shared, counted references) nor its text column is made again, which cost a
    /// fifth of the reader's time per record.
    origin: Option<Origin>,
    /// Whether `origin` applies to the records written now.
    origin_active: bool,
    /// The kernel's (cgroup id, namespace pid) `origin` was made from (`use_event_origin`); `None` when set whole.
    origin_key: Option<(u64, u32)>,
    /// `origin`'s text column (text output only).
    origin_column: String,
    /// `origin`'s JSON fields as they end a record's line: `,"cgroup":...,"ns_pid":...}` (JSON output only). Made
    /// when the origin changes rather than on every line: written anew, they were a tenth of the reader's time per
    /// `syscall` record.
    origin_json: Vec<u8>,
}

/// A record that writes its own JSON line (without the newline), byte for byte what serde_json writes for it, for
/// the hot path (`Output::emit_in`: one record per traced syscall), where serde's map of flattened fields, its
/// escaping of every key and its formatting took most of the reader's time per record.
pub trait WriteJson {
    fn write_json(&self, out: &mut Vec<u8>);
}

impl Output {
    pub fn open(path: Option<&Path>, json: bool) -> anyhow::Result<Output> {
        let (writer, interactive): (Box<dyn Write + Send>, bool) = match path {
            Some(path) => (
                Box::new(
                    open_output_file(path, false)
                        .with_context(|| format!("cannot create output file {}", path.display()))?,
                ),
                false,
            ),
            None => (Box::new(io::stdout()), io::stdout().is_terminal()),
        };
        Ok(Output::from_writer(writer, json, interactive))
    }

    /// Events to any writer (`tracer monitor`'s rotating file); `interactive` flushes after every batch.
    pub fn from_writer(writer: Box<dyn Write + Send>, json: bool, interactive: bool) -> Output {
        Output {
            writer,
            pending: Vec::with_capacity(BUFFER_CAPACITY + 4096),
            json,
            interactive,
            failing: false,
            dropped: 0,
            dropped_in_streak: 0,
            text_line: String::with_capacity(512),
            origin: None,
            origin_active: false,
            origin_key: None,
            origin_column: String::new(),
            origin_json: Vec::new(),
        }
    }

    /// The origin of the records written until the next call (`None`: records about no one process, as `ready`,
    /// `lost`, summaries).
    #[inline]
    pub fn set_origin(&mut self, origin: Option<Origin>) {
        let Some(origin) = origin else {
            self.origin_active = false;
            return;
        };
        let changed = !self.origin.as_ref().is_some_and(|kept| kept.same_as(&origin));
        self.origin = Some(origin);
        if changed {
            self.origin_changed();
        }
        self.origin_key = None;
        self.origin_active = true;
    }

    /// The origin of an event's records, from the kernel's view of its process (`Origins::of_event`), made only
    /// when it differs from the last event's.
    #[inline]
    pub fn use_event_origin(&mut self, origins: &mut crate::cgroups::Origins, cgroup_id: u64, ns_pid: u32) {
        if self.origin_key != Some((cgroup_id, ns_pid)) || self.origin.is_none() {
            self.origin = Some(origins.of_event(cgroup_id, ns_pid));
            self.origin_changed();
            // An id no cgroup walk found yet is asked again at the next event: a later walk may find it.
            self.origin_key =
                self.origin.as_ref().filter(|o| o.cgroup.is_some() || cgroup_id == 0).map(|_| (cgroup_id, ns_pid));
        }
        self.origin_active = true;
    }

    /// `origin` is another: its text column, or its JSON fields, made once for the records that follow.
    fn origin_changed(&mut self) {
        let Some(origin) = &self.origin else { return };
        if !self.json {
            self.origin_column = origin.text_column();
            return;
        }
        self.origin_json.clear();
        serde_json::to_writer(&mut self.origin_json, origin)
            .unwrap_or_else(|err| panic!("an origin serializes: {err}"));
        // The origin's fields go after the record's own: its opening brace becomes their comma.
        if let Some(brace) = self.origin_json.first_mut() {
            *brace = b',';
        }
    }

    /// A record's text line, with its origin's column at the end (out of the way, and empty when there is none).
    fn text(&mut self, line: &str) -> Result<(), OutputClosed> {
        if !self.origin_active {
            return self.plain_text(line);
        }
        let column = std::mem::take(&mut self.origin_column);
        let written = self.write_line(|bytes| {
            bytes.extend_from_slice(line.as_bytes());
            bytes.extend_from_slice(column.as_bytes());
            bytes.push(b'\n');
        });
        self.origin_column = column;
        written
    }

    /// A line that is no record (a heading): no origin column.
    fn plain_text(&mut self, line: &str) -> Result<(), OutputClosed> {
        self.write_line(|bytes| {
            bytes.extend_from_slice(line.as_bytes());
            bytes.push(b'\n');
        })
    }

    fn record<T: Serialize>(&mut self, record: &T) -> Result<(), OutputClosed> {
        self.json_line(|bytes| {
            serde_json::to_writer(bytes, record).unwrap_or_else(|err| panic!("a record serializes: {err}"));
        })
    }

    /// A JSON line: the record's object, which `write` appends, with the origin's fields after its own.
    fn json_line(&mut self, write: impl FnOnce(&mut Vec<u8>)) -> Result<(), OutputClosed> {
        let origin_json = if self.origin_active && self.origin.is_some() {
            std::mem::take(&mut self.origin_json)
        } else {
            Vec::new()
        };
        // Made whole in the buffer first: a failed write then drops a whole line, never half of one.
        let written = self.write_line(|bytes| {
            write(bytes);
            // The origin's fields take the place of the record's closing brace (and end with it).
            if !origin_json.is_empty() && bytes.last() == Some(&b'}') {
                bytes.pop();
                bytes.extend_from_slice(&origin_json);
            }
            bytes.push(b'\n');
        });
        if !origin_json.is_empty() {
            self.origin_json = origin_json;
        }
        written
    }

    /// One whole line, made by `fill` at the end of the lines held (the hot path allocates and copies nothing):
    /// kept whole or dropped whole. When it takes the buffer past its capacity, the lines before it are written
    /// out first, and it is dropped if that fails (what could not be written stays held, as a `BufWriter` keeps it).
    fn write_line(&mut self, fill: impl FnOnce(&mut Vec<u8>)) -> Result<(), OutputClosed> {
        let start = self.pending.len();
        fill(&mut self.pending);
        if self.pending.len() <= BUFFER_CAPACITY || start == 0 {
            return Ok(());
        }
        let (written, result) = self.write_out(start);
        if result.is_err() {
            self.pending.truncate(start);
        }
        self.pending.drain(..written);
        match result {
            Ok(()) => Ok(()),
            Err(err) => self.failed(err, 1),
        }
    }

    /// Writes the first `len` bytes held to the writer (a `BufWriter`'s flush): how many it took, and the error
    /// that stopped it. The caller removes those bytes.
    fn write_out(&mut self, len: usize) -> (usize, io::Result<()>) {
        let mut written = 0;
        while written < len {
            match self.writer.write(&self.pending[written..len]) {
                Ok(0) => return (written, Err(io::ErrorKind::WriteZero.into())),
                Ok(n) => written += n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return (written, Err(err)),
            }
        }
        (written, Ok(()))
    }

    /// A write error: EPIPE ends the stream; any other drops `records` and tracing goes on.
    fn failed(&mut self, err: io::Error, records: u64) -> Result<(), OutputClosed> {
        if err.kind() == io::ErrorKind::BrokenPipe {
            return Err(OutputClosed);
        }
        self.dropped += records;
        self.dropped_in_streak += records;
        if !self.failing {
            self.failing = true;
            eprintln!(
                "tracer: writing events failed: {err}; tracing goes on, events are dropped until writing works again"
            );
        }
        Ok(())
    }

    /// A record as a JSON line, or as the text line the command renders for it: handlers build records and
    /// never look at the format.
    pub fn emit<R: Serialize>(&mut self, record: &R, text: impl FnOnce(&R) -> String) -> Result<(), OutputClosed> {
        self.emit_some(record, |r| Some(text(r)))
    }

    /// `emit`, for a record the text layout may leave out (`None`).
    pub fn emit_some<R: Serialize>(
        &mut self,
        record: &R,
        text: impl FnOnce(&R) -> Option<String>,
    ) -> Result<(), OutputClosed> {
        match (self.json, text) {
            (true, _) => self.record(record),
            (false, text) => text(record).map_or(Ok(()), |line| self.text(&line)),
        }
    }

    /// `emit` for the hot path (one record per traced syscall): the record is made only for a JSON line, which it
    /// writes itself (`WriteJson`, no serde); the text line is written straight into a buffer kept from one record
    /// to the next, so that rendering a record allocates nothing and the line is copied once, with the origin's
    /// column and the newline, into the output's buffer.
    pub fn emit_in<R: WriteJson>(
        &mut self,
        record: impl FnOnce() -> R,
        text: impl FnOnce(&mut String),
    ) -> Result<(), OutputClosed> {
        if self.json {
            return self.json_line(|bytes| record().write_json(bytes));
        }
        let mut line = std::mem::take(&mut self.text_line);
        line.clear();
        text(&mut line);
        let column = if self.origin_active { std::mem::take(&mut self.origin_column) } else { String::new() };
        let written = self.write_line(|bytes| {
            bytes.extend_from_slice(line.as_bytes());
            bytes.extend_from_slice(column.as_bytes());
            bytes.push(b'\n');
        });
        if self.origin_active {
            self.origin_column = column;
        }
        self.text_line = line;
        written
    }

    /// A record that is news about tracer itself (`ready`): a JSON line in the event stream, flushed at once so
    /// that a script waiting for it sees it; in text, a `tracer: ...` line on stderr, outside the trace.
    pub fn emit_status<R: Serialize>(
        &mut self,
        record: &R,
        text: impl FnOnce(&R) -> String,
    ) -> Result<(), OutputClosed> {
        if self.json {
            self.record(record)?;
            return self.flush();
        }
        eprintln!("tracer: {}", text(record));
        Ok(())
    }

    /// A line only the text layout has (a table's heading, a note that it is empty): nothing in JSON.
    pub fn text_only(&mut self, line: &str) -> Result<(), OutputClosed> {
        if self.json { Ok(()) } else { self.plain_text(line) }
    }

    /// Called after each batch of events: a terminal sees lines at once, a pipe gets them in blocks.
    pub fn end_batch(&mut self) -> Result<(), OutputClosed> {
        if self.interactive || self.pending.len() > 32 * 1024 {
            return self.flush();
        }
        Ok(())
    }

    /// Writes out what the buffer holds (what it could not write stays in it, whole lines kept in order). Called
    /// every tick: after failures, the first flush that works ends the streak.
    pub fn flush(&mut self) -> Result<(), OutputClosed> {
        let (written, result) = self.write_out(self.pending.len());
        self.pending.drain(..written);
        match result.and_then(|()| self.writer.flush()) {
            Ok(()) => {
                if self.failing {
                    self.failing = false;
                    eprintln!(
                        "tracer: writing events works again; {} records were dropped meanwhile",
                        std::mem::take(&mut self.dropped_in_streak)
                    );
                }
                Ok(())
            }
            Err(err) => self.failed(err, 0),
        }
    }

    /// The last flush: lines still held because writing fails are dropped too.
    pub fn flush_final(&mut self) -> Result<(), OutputClosed> {
        self.flush()?;
        if self.failing {
            self.dropped += self.pending.iter().filter(|&&b| b == b'\n').count() as u64;
        }
        Ok(())
    }
}

/// What is held is written out when the output goes (as a `BufWriter` does), errors ignored: the paths that
/// count what they drop call `flush_final` before.
impl Drop for Output {
    fn drop(&mut self) {
        let _ = self.write_out(self.pending.len());
    }
}

/// Opens `-o FILE` for writing (truncated, or appended to): created 0600 when new, since events show other users'
/// file names and arguments; an existing file keeps its mode. Tracer runs as root, so a symbolic link in a
/// directory that others can write to (`/tmp`) is not followed: anyone could have planted it there to have root
/// overwrite its target. The open itself refuses the link (`O_NOFOLLOW`), so no swap between a check and the open
/// gets through; a link elsewhere (`/dev/stdout`) is followed as usual.
pub fn open_output_file(path: &Path, append: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).mode(0o600);
    if append {
        options.append(true);
    } else {
        options.truncate(true);
    }
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let shared_dir = std::fs::metadata(dir).is_ok_and(|meta| others_can_write(meta.mode(), meta.uid()));
    if shared_dir {
        options.custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path).map_err(|err| {
        if shared_dir && err.raw_os_error() == Some(libc::ELOOP) {
            io::Error::other(format!(
                "it is a symbolic link in {}, a directory others can write to, and tracer does not follow those; \
                 give the path it points to",
                dir.display()
            ))
        } else {
            err
        }
    })
}

/// A directory someone other than its owner (or an owner other than tracer's user and root) can add entries to.
fn others_can_write(mode: u32, owner: u32) -> bool {
    // SAFETY: geteuid cannot fail.
    let me = unsafe { libc::geteuid() };
    mode & 0o022 != 0 || (owner != me && owner != 0)
}

/// Converts `bpf_ktime_get_ns` stamps (CLOCK_MONOTONIC) to wall-clock nanoseconds since the epoch, with an
/// offset measured once at start.
#[derive(Clone, Copy)]
pub struct Clock {
    offset_ns: i128,
}

fn clock_ns(clock: libc::clockid_t) -> i128 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: valid pointer to a timespec; both clocks always exist.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec)
}

impl Clock {
    pub fn new() -> Clock {
        Clock { offset_ns: clock_ns(libc::CLOCK_REALTIME) - clock_ns(libc::CLOCK_MONOTONIC) }
    }

    pub fn wall_ns(&self, monotonic_ns: u64) -> u64 {
        (i128::from(monotonic_ns) + self.offset_ns).max(0) as u64
    }

    pub fn monotonic_now(&self) -> u64 {
        clock_ns(libc::CLOCK_MONOTONIC) as u64
    }
}

/// strace's `-t` (seconds), `-tt` (microseconds), `-ttt` (epoch seconds with microseconds) prefixes.
pub fn timestamp(wall_ns: u64, level: u8) -> String {
    let mut out = String::with_capacity(24);
    push_timestamp(&mut out, wall_ns, level);
    out
}

/// `timestamp`, appended to `out`.
pub fn push_timestamp(out: &mut String, wall_ns: u64, level: u8) {
    let secs = wall_ns / 1_000_000_000;
    let micros = (wall_ns % 1_000_000_000) / 1_000;
    if level >= 3 {
        push_padded(out, secs, 1);
        out.push('.');
        push_padded(out, micros, 6);
        return;
    }
    // SAFETY: localtime_r writes into the tm we own.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    unsafe { libc::localtime_r(&(secs as i64), &mut tm) };
    for (i, part) in [tm.tm_hour, tm.tm_min, tm.tm_sec].into_iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        push_padded(out, part as u64, 2);
    }
    if level == 2 {
        out.push('.');
        push_padded(out, micros, 6);
    }
}

/// A duration as strace's `-T` shows it, `<0.000012>`, appended to `out`.
pub fn push_duration(out: &mut String, ns: u64) {
    out.push('<');
    push_padded(out, ns / 1_000_000_000, 1);
    out.push('.');
    push_padded(out, (ns % 1_000_000_000) / 1_000, 6);
    out.push('>');
}

/// `value` in decimal, zero-padded to at least `width` digits (at most 20), appended without `fmt`: its padding
/// writes the fill one char at a time, and `-T`/`-tt` pad a number or two on every line, at up to millions of lines
/// a second (a third of the reader's time under `-T` went there).
fn push_padded(out: &mut String, mut value: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    let start = start.min(digits.len() - width.min(digits.len()));
    // ASCII digits only.
    out.push_str(std::str::from_utf8(&digits[start..]).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::{
        cgroups::Cgroup,
        escape::Text,
        linux::cgroups::parse_path,
        records::{Call, Lost, Syscall},
    };

    /// What an `Output` wrote, kept to be read back.
    #[derive(Clone, Default)]
    struct Written(Arc<Mutex<Vec<u8>>>);

    impl Write for Written {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn origin(path: &str, container_name: Option<&str>, ns_pid: Option<u32>) -> Origin {
        let cgroup = Cgroup {
            path: path.to_string(),
            meaning: parse_path(path),
            container_name: container_name.map(String::from),
        };
        Origin { cgroup: Some(Arc::new(cgroup)), ns_pid }
    }

    /// A record's line with its origin's fields after its own, made as `Output` made it before it kept them
    /// serialized: both serialized by serde, the record's closing brace and the origin's opening one made a comma.
    fn line_as_before<T: Serialize>(record: &T, origin: Option<&Origin>) -> String {
        let mut line = serde_json::to_string(record).unwrap();
        if let Some(origin) = origin {
            line.pop();
            line.push(',');
            line.push_str(&serde_json::to_string(origin).unwrap()[1..]);
        }
        line
    }

    #[test]
    fn json_lines_end_with_their_origin_as_before() {
        const ID: &str = "d3df5fcf16b47471083371ec4302a901a7e122df0aa7e9fff60fbe36c2190bf4";
        let pod = format!(
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0e2f6a3c_1b2d_4c5e_8f9a_0b1c2d3e4f5a.slice/\
             cri-containerd-{ID}.scope"
        );
        let in_pod = origin(&pod, Some("we\"b\\1"), Some(1));
        let root = origin("/", None, None);
        // Every field set, every field null, a unit and a pid namespace, the same origin again (its fields kept),
        // none, and an origin set again after none.
        let origins = [
            Some(in_pod.clone()),
            Some(Origin::default()),
            Some(origin("/system.slice/nginx.service", None, Some(7))),
            Some(root.clone()),
            Some(root.clone()),
            None,
            Some(in_pod.clone()),
            Some(origin(&format!("/docker/{ID}"), None, None)),
        ];
        let written = Written::default();
        let mut out = Output::from_writer(Box::new(written.clone()), true, false);
        let args = ["3".to_string(), "\"a\\x\"...".to_string()];
        let call = || Call {
            ts_ns: 1_796_325_099_753_785_591,
            pid: 24204,
            start_ns: Some(10_957_628_546_537),
            tid: 24205,
            comm: Text::of(b"w\xffrk"),
            name: "read",
            nr: 0,
            args: &args,
        };
        let syscall = Syscall { call: call(), ret: Some(-2), errno: Some("ENOENT"), duration_ns: None };
        let lost = Lost { probe: "syscalls", count: 3, reason: None };
        let mut expected = String::new();
        for origin in &origins {
            out.set_origin(origin.clone());
            out.emit_in(|| Syscall { call: call(), ret: Some(-2), errno: Some("ENOENT"), duration_ns: None }, |_| {})
                .unwrap();
            out.emit(&lost, |_| String::new()).unwrap();
            for line in [line_as_before(&syscall, origin.as_ref()), line_as_before(&lost, origin.as_ref())] {
                expected.push_str(&line);
                expected.push('\n');
            }
        }
        out.flush_final().unwrap();
        let lines = String::from_utf8(written.0.lock().unwrap().clone()).unwrap();
        assert_eq!(lines, expected);
        assert_eq!(lines.lines().filter(|l| l.contains(r#","container_name":"we\"b\\1","#)).count(), 4);
        assert_eq!(
            lines.lines().filter(|l| l.ends_with(r#""ret":-2,"errno":"ENOENT","duration_ns":null}"#)).count(),
            1
        );
    }

    fn duration(ns: u64) -> String {
        let mut out = String::new();
        push_duration(&mut out, ns);
        out
    }

    #[test]
    fn formats_times_like_strace() {
        assert_eq!(duration(12_345), "<0.000012>");
        assert_eq!(duration(1_500_000_000), "<1.500000>");
        assert_eq!(timestamp(1_700_000_000_123_456_789, 3), "1700000000.123456");
        assert!(timestamp(1_700_000_000_123_456_789, 2).ends_with(".123456"));
        assert_eq!(timestamp(7_000_001, 3), "0.007000");
        assert_eq!(duration(0), "<0.000000>");
        assert_eq!(duration(u64::MAX), "<18446744073.709551>");
        let hms = timestamp(1_700_000_000_000_000_000, 1);
        assert!(hms.len() == 8 && hms.as_bytes()[2] == b':' && hms.as_bytes()[5] == b':', "{hms}");
    }
}
