//! Sinks shared by every command: events to stdout or `-o FILE`, as text lines or JSON lines (the field names
//! in ../shared/DESIGN.md are a contract), and the clock conversion that stamps them.

use std::{
    fs::{File, OpenOptions},
    io::{self, BufWriter, IsTerminal as _, Write},
    os::unix::fs::{MetadataExt as _, OpenOptionsExt as _},
    path::Path,
};

use anyhow::Context as _;
use serde::Serialize;

/// The reader went away (closed pipe): stop quietly, as `head` expects.
#[derive(Debug, thiserror::Error)]
#[error("output closed")]
pub struct OutputClosed;

pub struct Output {
    writer: BufWriter<Box<dyn Write + Send>>,
    pub json: bool,
    interactive: bool,
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
        Ok(Output { writer: BufWriter::with_capacity(64 * 1024, writer), json, interactive })
    }

    /// Events to any writer (`tracer monitor`'s rotating file); `interactive` flushes after every batch.
    pub fn from_writer(writer: Box<dyn Write + Send>, json: bool, interactive: bool) -> Output {
        Output { writer: BufWriter::with_capacity(64 * 1024, writer), json, interactive }
    }

    pub fn text(&mut self, line: &str) -> Result<(), OutputClosed> {
        check(writeln!(self.writer, "{line}"))
    }

    pub fn record<T: Serialize>(&mut self, record: &T) -> Result<(), OutputClosed> {
        check(serde_json::to_writer(&mut self.writer, record).map_err(io::Error::from))?;
        check(self.writer.write_all(b"\n"))
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

    /// A line only the text layout has (a table's heading, a note that it is empty): nothing in JSON.
    pub fn text_only(&mut self, line: &str) -> Result<(), OutputClosed> {
        if self.json { Ok(()) } else { self.text(line) }
    }

    /// Called after each batch of events: a terminal sees lines at once, a pipe gets them in blocks.
    pub fn end_batch(&mut self) -> Result<(), OutputClosed> {
        if self.interactive || self.writer.buffer().len() > 32 * 1024 {
            return self.flush();
        }
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), OutputClosed> {
        check(self.writer.flush())
    }
}

fn check(result: io::Result<()>) -> Result<(), OutputClosed> {
    match result {
        Ok(()) => Ok(()),
        // Any write error ends the event stream; a closed pipe is the usual one and is not worth a message.
        Err(err) => {
            if err.kind() != io::ErrorKind::BrokenPipe {
                eprintln!("tracer: writing events failed: {err}");
            }
            Err(OutputClosed)
        }
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
    let secs = (wall_ns / 1_000_000_000) as libc::time_t;
    let micros = (wall_ns % 1_000_000_000) / 1_000;
    if level >= 3 {
        return format!("{secs}.{micros:06}");
    }
    // SAFETY: localtime_r writes into the tm we own.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    unsafe { libc::localtime_r(&secs, &mut tm) };
    let hms = format!("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec);
    if level == 2 { format!("{hms}.{micros:06}") } else { hms }
}

/// A duration as strace's `-T` shows it: `<0.000012>`.
pub fn duration(ns: u64) -> String {
    format!("<{}.{:06}>", ns / 1_000_000_000, (ns % 1_000_000_000) / 1_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times_like_strace() {
        assert_eq!(duration(12_345), "<0.000012>");
        assert_eq!(duration(1_500_000_000), "<1.500000>");
        assert_eq!(timestamp(1_700_000_000_123_456_789, 3), "1700000000.123456");
        assert!(timestamp(1_700_000_000_123_456_789, 2).ends_with(".123456"));
    }
}
