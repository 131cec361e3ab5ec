//! `--output FILE` for a daemon: appended to, rotated by size (`FILE` → `FILE.1` → ... → `FILE.N`), reopened on
//! SIGHUP (after logrotate moved it), and never fatal: a full disk or a vanished directory is reported on stderr
//! (once per failure streak), what could not be written is counted, and writing resumes when it can.

use std::{
    fs::File,
    io::{self, Write},
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
};

/// Shared with the handler: SIGHUP sets `reopen`; `dropped_bytes` feeds the metrics.
#[derive(Default, Debug)]
pub struct SinkControl {
    pub reopen: AtomicBool,
    pub dropped_bytes: AtomicU64,
    pub write_errors: AtomicU64,
}

pub struct RotatingFile {
    path: PathBuf,
    file: Option<File>,
    size: u64,
    /// Rotate when the file would grow past this many bytes (0: never).
    limit: u64,
    keep: u32,
    control: Arc<SinkControl>,
    /// A write failed and has not succeeded since: report the next failure only after a success.
    failing: bool,
    /// The file ends with a complete line: it can be rotated now.
    at_line_start: bool,
}

impl RotatingFile {
    pub fn open(path: &Path, limit: u64, keep: u32, control: Arc<SinkControl>) -> io::Result<RotatingFile> {
        let file = open_append(path)?;
        let size = file.metadata()?.len();
        Ok(RotatingFile {
            path: path.to_path_buf(),
            file: Some(file),
            size,
            limit,
            keep,
            control,
            failing: false,
            at_line_start: true,
        })
    }

    fn reopen(&mut self) -> io::Result<()> {
        self.file = None;
        let file = open_append(&self.path)?;
        self.size = file.metadata()?.len();
        self.file = Some(file);
        self.at_line_start = true;
        Ok(())
    }

    /// `FILE.N-1` → `FILE.N`, ..., `FILE` → `FILE.1`, then a new `FILE`.
    fn rotate(&mut self) -> io::Result<()> {
        // Someone else (logrotate) moved the file away: it is theirs now; start a new one, shift nothing.
        if !self.file.as_ref().is_some_and(|file| same_file(file, &self.path)) {
            return self.reopen();
        }
        self.file = None;
        if self.keep == 0 {
            std::fs::remove_file(&self.path).or_else(ignore_missing)?;
        } else {
            for n in (1..self.keep).rev() {
                std::fs::rename(numbered(&self.path, n), numbered(&self.path, n + 1)).or_else(ignore_missing)?;
            }
            std::fs::rename(&self.path, numbered(&self.path, 1)).or_else(ignore_missing)?;
        }
        self.reopen()
    }

    fn write_now(&mut self, buf: &[u8]) -> io::Result<()> {
        if self.control.reopen.swap(false, Ordering::Relaxed) || self.file.is_none() {
            self.reopen()?;
        }
        let mut rest = buf;
        if self.limit > 0 && self.size > 0 && self.size + rest.len() as u64 > self.limit {
            // Rotate at a line boundary: the end of a line already begun stays in the current file.
            if self.at_line_start {
                self.rotate()?;
            } else if let Some(end) = rest.iter().position(|&b| b == b'\n') {
                self.write_file(&rest[..=end])?;
                rest = &rest[end + 1..];
                self.rotate()?;
            }
        }
        self.write_file(rest)
    }

    fn write_file(&mut self, buf: &[u8]) -> io::Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        let file = self.file.as_mut().ok_or_else(|| io::Error::other("output file not open"))?;
        file.write_all(buf)?;
        self.size += buf.len() as u64;
        self.at_line_start = buf.last() == Some(&b'\n');
        Ok(())
    }
}

impl Write for RotatingFile {
    /// Never fails: what cannot be written is dropped, counted and reported, and the stream goes on.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.write_now(buf) {
            Ok(()) => self.failing = false,
            Err(err) => {
                self.control.write_errors.fetch_add(1, Ordering::Relaxed);
                self.control.dropped_bytes.fetch_add(buf.len() as u64, Ordering::Relaxed);
                if !self.failing {
                    eprintln!(
                        "tracer: writing {} failed: {err}; events are dropped until it works",
                        self.path.display()
                    );
                }
                self.failing = true;
                // A file we cannot write to may have been removed or replaced: start afresh next time.
                self.file = None;
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.control.reopen.swap(false, Ordering::Relaxed)
            && let Err(err) = self.reopen()
        {
            eprintln!("tracer: reopening {} failed: {err}", self.path.display());
        }
        Ok(())
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    crate::output::open_output_file(path, true)
}

/// Whether `path` still names the open `file`.
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
        _ => false,
    }
}

fn numbered(path: &Path, n: u32) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

fn ignore_missing(err: io::Error) -> io::Result<()> {
    if err.kind() == io::ErrorKind::NotFound { Ok(()) } else { Err(err) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_at_line_boundaries_and_keeps_n_files() {
        let dir = std::env::temp_dir().join(format!("tracer-sink-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("events.jsonl");
        let control = Arc::new(SinkControl::default());
        let mut file = RotatingFile::open(&path, 20, 2, control.clone()).unwrap();
        for i in 0..10 {
            file.write_all(format!("line {i:04}\n").as_bytes()).unwrap(); // 10 bytes each
        }
        let current = std::fs::read_to_string(&path).unwrap();
        let one = std::fs::read_to_string(numbered(&path, 1)).unwrap();
        let two = std::fs::read_to_string(numbered(&path, 2)).unwrap();
        assert_eq!(current, "line 0008\nline 0009\n");
        assert_eq!(one, "line 0006\nline 0007\n");
        assert_eq!(two, "line 0004\nline 0005\n");
        assert!(!numbered(&path, 3).exists());

        // logrotate moved the file away: SIGHUP reopens a new one.
        std::fs::rename(&path, dir.join("moved")).unwrap();
        control.reopen.store(true, Ordering::Relaxed);
        file.flush().unwrap();
        file.write_all(b"after\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "after\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
