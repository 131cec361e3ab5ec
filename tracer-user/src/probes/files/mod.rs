//! The files probe family, composed by `tracer opens` and `tracer monitor --watch`: which paths are watched
//! (the kernel's maps of them), the open probes' wiring, and what an open event becomes (matching, path
//! resolution, text and JSON).
//!
//! The kernel side (tracer-ebpf/src/files.rs) matches successful opens by the opened file's (device, inode) and
//! directory watches by climbing the file's parents; failed opens by base name or directory prefix, which this
//! module then resolves and confirms. See that file for the strategy and its limits.
//!
//! Paths are shown as the kernel resolved them: for a successful open, the fd's /proc link when the process
//! still has it (checked against the kernel's identity of the file), else the watched path with that identity,
//! else the requested name joined to its start directory (cwd or dirfd, identified by the kernel; named from
//! /proc or from directories known to the watch). A relative name whose start directory cannot be named is shown
//! raw with `path_resolved: false`: never guessed.

mod layout;
mod paths;
mod snapshot;
mod table;

use std::{
    cell::{Cell, RefCell},
    collections::{HashMap, HashSet},
    os::unix::ffi::OsStrExt as _,
    path::{Path, PathBuf},
};

use anyhow::Context as _;
use aya::{
    EbpfLoader,
    maps::{Array, HashMap as BpfHashMap, MapData},
};
use tracer_common::{
    decode::{Event, c_bytes},
    files::{
        FileKey, NAME_KEY, OpenEvent, RenameEvent, call, fnv1a, ino_bit, name_key, name_len_bit, rename_call, stage,
        status, watch,
    },
};

use crate::{
    bpf::Probes,
    cgroups::{CgroupFilter, Hierarchy, Origins},
    escape::{Text, display_name},
    linux::{errno, files::open_flags, users::UserNames},
    output::{Output, OutputClosed, timestamp},
    probes::Family,
    procfs,
    records::{self, FdField, HeldFile, Open},
    session::{Handler, Io},
};
use layout::{ENTER_PROGRAMS, FilesLayout, RENAME_ENTER_PROGRAMS};
use paths::{Ident, base_name, is_under, link_path, resolve, resolve_new_name};
use snapshot::{Hold, Slot, Wanted};

/// One watched path.
#[derive(Debug)]
struct Watch {
    /// As given on the command line.
    arg: PathBuf,
    /// Absolute, resolved as the kernel would (it may not exist yet).
    path: PathBuf,
    dir: bool,
    /// Its identity, when it exists.
    ident: Option<Ident>,
    /// The identity of the directory marked for it in the kernel (a watched file's directory, a watched directory
    /// itself), once that exists: a directory created after start is marked when it appears.
    marked_dir: Option<Ident>,
}

impl Watch {
    fn new(arg: &Path) -> anyhow::Result<Watch> {
        let cwd = std::env::current_dir().context("reading the current directory")?;
        let path = resolve(Some(&cwd), arg.as_os_str().as_bytes())
            .with_context(|| format!("cannot resolve {}", arg.display()))?;
        let meta = std::fs::metadata(&path).ok();
        // A trailing slash names a directory, existing or not.
        let dir = meta.as_ref().map_or(arg.as_os_str().as_bytes().ends_with(b"/"), |m| m.is_dir());
        let ident = meta.as_ref().map(Ident::of_metadata);
        if dir && meta.is_none() {
            eprintln!(
                "tracer: warning: {} does not exist yet: opens below it are seen from at most {} ms after it is \
                 created",
                path.display(),
                WATCH_RECHECK.as_millis()
            );
        } else if meta.is_none() && !path.parent().is_some_and(Path::is_dir) {
            eprintln!(
                "tracer: warning: neither {} nor its directory exists: only failed opens of it can be seen until \
                 its directory is created, and from at most {} ms after that",
                path.display(),
                WATCH_RECHECK.as_millis()
            );
        }
        Ok(Watch { arg: arg.to_path_buf(), path, dir, ident, marked_dir: None })
    }

    /// The directory the kernel must know by identity for this watch: the watched directory, or a watched file's.
    fn dir_to_mark(&self) -> Option<(&Path, u32)> {
        if self.dir { Some((&self.path, watch::DIR)) } else { self.path.parent().map(|p| (p, watch::PARENT)) }
    }

    /// Whether `path` (absolute, resolved) is this watch's file or below its directory.
    fn covers(&self, path: &Path) -> bool {
        if self.dir { is_under(path, &self.path) } else { path == self.path }
    }
}

/// The watched paths, with directories whose names are known by identity (to name a start directory after its
/// process is gone).
pub(crate) struct WatchSet {
    watches: Vec<Watch>,
    known_dirs: HashMap<Ident, PathBuf>,
}

/// How often watched directories that did not exist (or were replaced) are looked for again: the session's tick.
const WATCH_RECHECK: std::time::Duration = std::time::Duration::from_millis(100);

/// Known directories kept at most (a cache of start directories named from /proc).
const KNOWN_DIRS_MAX: usize = 4096;
/// Directory entries looked at, at most, to name a start directory by its identity.
const SEARCH_MAX_ENTRIES: usize = 20_000;

impl WatchSet {
    fn new(args: &[PathBuf]) -> anyhow::Result<WatchSet> {
        let watches = args.iter().map(|a| Watch::new(a)).collect::<anyhow::Result<Vec<_>>>()?;
        let mut known_dirs = HashMap::new();
        for w in &watches {
            let mut dir = if w.dir { Some(w.path.as_path()) } else { w.path.parent() };
            while let Some(d) = dir {
                if let Some(ident) = Ident::of(d) {
                    known_dirs.entry(ident).or_insert_with(|| d.to_path_buf());
                }
                dir = d.parent();
            }
        }
        Ok(WatchSet { watches, known_dirs })
    }

    fn any_dirs(&self) -> bool {
        self.watches.iter().any(|w| w.dir)
    }

    fn by_ident(&self, ident: Ident) -> Option<&Watch> {
        self.watches.iter().find(|w| w.ident == Some(ident))
    }

    fn by_path(&self, path: &Path) -> Option<&Watch> {
        self.watches.iter().find(|w| w.covers(path))
    }

    /// Marks in the kernel the directories of watches that have come into being (or been replaced) since they
    /// were last looked at: `opens /a/b/file` before `mkdir -p /a/b` is seen once /a/b exists.
    fn mark_new_dirs(&mut self, maps: &mut WatchMaps) -> anyhow::Result<()> {
        for w in &mut self.watches {
            let Some((dir, bits)) = w.dir_to_mark() else { continue };
            let Some(ident) = Ident::of(dir) else { continue };
            if w.marked_dir != Some(ident) {
                maps.mark(ident, bits)?;
                self.known_dirs.entry(ident).or_insert_with(|| dir.to_path_buf());
                if w.dir {
                    w.ident = Some(ident);
                }
                w.marked_dir = Some(ident);
            }
        }
        Ok(())
    }

    /// Fills the kernel's watch maps.
    fn program(&mut self, maps: &mut WatchMaps) -> anyhow::Result<()> {
        self.mark_new_dirs(maps)?;
        for w in &self.watches {
            if let Some(ident) = w.ident {
                maps.mark(ident, if w.dir { watch::DIR } else { watch::FILE })?;
            }
            if w.dir {
                maps.prefix(w.path.as_os_str().as_bytes())?;
                let given = w.arg.as_os_str().as_bytes();
                if given.starts_with(b"/") {
                    // The spelling given, as a process would likely spell it too (no trailing slash).
                    let trimmed = given.strip_suffix(b"/").unwrap_or(given);
                    maps.prefix(trimmed)?;
                }
                continue;
            }
            maps.name(base_name(w.path.as_os_str().as_bytes()))?;
            maps.name(base_name(w.arg.as_os_str().as_bytes()))?;
        }
        Ok(())
    }
}

impl Wanted for WatchSet {
    fn wants(&self, ident: Ident, path: Option<&Path>) -> bool {
        self.watches.iter().any(|w| w.ident == Some(ident) || (w.dir && path.is_some_and(|p| w.covers(p))))
    }

    fn needs_paths(&self) -> bool {
        self.any_dirs()
    }
}

/// The kernel's watch maps (taken out of the object so that they can be updated while events are read).
struct WatchMaps {
    watched: BpfHashMap<MapData, FileKey, u32>,
    ino_bits: Array<MapData, u64>,
    name_lens: Array<MapData, u64>,
    names: BpfHashMap<MapData, [u8; NAME_KEY], u8>,
    basenames: BpfHashMap<MapData, u64, u8>,
    prefixes: BpfHashMap<MapData, u64, u8>,
}

impl WatchMaps {
    fn take(probes: &mut Probes) -> anyhow::Result<WatchMaps> {
        Ok(WatchMaps {
            watched: BpfHashMap::try_from(probes.take_map("FILES_WATCHED")?)?,
            ino_bits: Array::try_from(probes.take_map("FILES_INO_BITS")?)?,
            name_lens: Array::try_from(probes.take_map("FILES_NAME_LENS")?)?,
            names: BpfHashMap::try_from(probes.take_map("FILES_NAMES")?)?,
            basenames: BpfHashMap::try_from(probes.take_map("FILES_BASENAMES")?)?,
            prefixes: BpfHashMap::try_from(probes.take_map("FILES_PREFIXES")?)?,
        })
    }

    fn mark(&mut self, ident: Ident, bits: u32) -> anyhow::Result<()> {
        let key = FileKey { ino: ident.ino, dev: ident.dev, _pad: 0 };
        let old = self.watched.get(&key, 0).unwrap_or(0);
        // The filter bit first: an open between the two updates is then at worst looked up for nothing.
        let (word, bit) = ino_bit(ident.ino);
        let old_bits = self.ino_bits.get(&word, 0).context("reading the watched inode filter")?;
        self.ino_bits.set(word, old_bits | 1 << bit, 0).context("adding to the watched inode filter")?;
        self.watched.insert(key, old | bits, 0).context("adding to the watched files")?;
        Ok(())
    }

    fn name(&mut self, name: &[u8]) -> anyhow::Result<()> {
        if !name.is_empty() {
            let lens = self.name_lens.get(&0, 0).context("reading the watched name lengths")?;
            self.name_lens.set(0, lens | name_len_bit(name.len()), 0).context("adding to the watched name lengths")?;
            self.names.insert(name_key(name), 1, 0).context("adding to the watched names")?;
            self.basenames.insert(fnv1a(name), 1, 0).context("adding to the watched names")?;
        }
        Ok(())
    }

    fn prefix(&mut self, dir: &[u8]) -> anyhow::Result<()> {
        self.prefixes.insert(fnv1a(dir), 1, 0).context("adding to the watched directories")?;
        Ok(())
    }
}

/// The open probes and the paths they watch, as `tracer opens` and `tracer monitor --watch` compose them: `new`,
/// then `configure` the loader and `attach` (as every `Family`), then `handler` for what resolves and shows their
/// events.
pub(crate) struct OpenProbes {
    files: FilesLayout,
    /// Marked in the kernel by `attach` (which records what it marked), then handed to the handler.
    set: RefCell<WatchSet>,
    unfiltered: u8,
    failed_only: u8,
    have_dirs: u8,
    /// Taken out of the object by `attach`, filled there, and handed to the handler, which adds to them while
    /// events are read (the programs keep using them).
    maps: Cell<Option<WatchMaps>>,
}

impl OpenProbes {
    /// `paths` empty: every open on the machine.
    pub(crate) fn new(tracefs: &Path, paths: &[PathBuf], failed_only: bool) -> anyhow::Result<OpenProbes> {
        let set = WatchSet::new(paths)?;
        let files = FilesLayout::read(tracefs).context("finding files in this kernel")?;
        let unfiltered = u8::from(set.watches.is_empty());
        let have_dirs = u8::from(set.any_dirs());
        Ok(OpenProbes {
            files,
            set: RefCell::new(set),
            unfiltered,
            failed_only: u8::from(failed_only),
            have_dirs,
            maps: Cell::new(None),
        })
    }

    /// The handler that resolves and shows the attached probes' events; `pids`: the processes the caller traces
    /// (none: every process).
    pub(crate) fn handler(self, pids: HashSet<u32>) -> anyhow::Result<Opens> {
        let maps = self.maps.take().context("the open probes are not attached")?;
        Ok(Opens::new(self.set.into_inner(), maps, pids))
    }
}

impl Family for OpenProbes {
    /// The open probes' load-time globals (`TRACE_ALL` is the core's: `bpf::Core`).
    fn configure<'a>(&'a self, loader: &mut EbpfLoader<'a>) {
        self.files.globals.apply(loader);
        loader
            .override_global("FILES_UNFILTERED", &self.unfiltered, true)
            .override_global("FILES_FAILED_ONLY", &self.failed_only, true)
            .override_global("FILES_HAVE_DIRS", &self.have_dirs, true);
    }

    /// The watch maps first; then the exit's later stages, the exits, the enters.
    fn attach(&self, probes: &mut Probes) -> anyhow::Result<()> {
        let mut maps = WatchMaps::take(probes)?;
        self.set.borrow_mut().program(&mut maps)?;
        self.maps.set(Some(maps));
        // The exit's later stages first: the exit tail-calls them from its first event on.
        probes.set_tail_calls("FILES_STAGES", &stage::PROGRAMS)?;
        // Exits before enters, so that no open is entered without its exit being watched.
        for &syscall in &self.files.calls {
            probes.attach_tracepoint("files_open_exit", "syscalls", &format!("sys_exit_{syscall}"))?;
        }
        for &(program, syscall) in ENTER_PROGRAMS {
            if self.files.calls.contains(&syscall) {
                probes.attach_tracepoint(program, "syscalls", &format!("sys_enter_{syscall}"))?;
            }
        }
        // Renames, links and symlinks onto a watched path: only while one is watched, so that these calls pay
        // nothing otherwise. Exits before enters, as above.
        if self.unfiltered == 0 {
            for &syscall in &self.files.rename_calls {
                probes.attach_tracepoint("files_rename_exit", "syscalls", &format!("sys_exit_{syscall}"))?;
            }
            for &(program, syscall, _) in RENAME_ENTER_PROGRAMS {
                if self.files.rename_calls.contains(&syscall) {
                    probes.attach_tracepoint(program, "syscalls", &format!("sys_enter_{syscall}"))?;
                }
            }
        }
        Ok(())
    }
}

/// How the path of an open was found.
struct Resolved {
    path: Option<PathBuf>,
    verified: bool,
}

/// Renders one text line: (wall-clock ns, event type, pid, comm, details), for a caller with its own columns.
pub(crate) type TextLine = fn(u64, &str, u32, &[u8], &str) -> String;

pub(crate) struct Opens {
    set: WatchSet,
    maps: WatchMaps,
    pids: HashSet<u32>,
    live: HashSet<u32>,
    users: UserNames,
    dropped: u64,
    /// Text lines in the caller's columns instead of this command's table.
    text_line: Option<TextLine>,
    /// `--cgroup`/`--container`: the snapshot lists that cgroup's processes only, as the kernel filters the events.
    snapshot_filter: Option<CgroupFilter>,
}

impl Opens {
    fn new(set: WatchSet, maps: WatchMaps, pids: HashSet<u32>) -> Opens {
        let live = pids.clone();
        Opens { set, maps, pids, live, users: UserNames::default(), dropped: 0, text_line: None, snapshot_filter: None }
    }

    /// The snapshot lists only processes in `filter`'s cgroup or below it.
    pub(crate) fn with_snapshot_filter(mut self, filter: Option<CgroupFilter>) -> Opens {
        self.snapshot_filter = filter;
        self
    }

    /// Text output as `line` renders it (`tracer monitor`'s columns).
    pub(crate) fn with_text_line(mut self, line: TextLine) -> Opens {
        self.text_line = Some(line);
        self
    }

    pub(crate) fn describe(&self, failed: bool) -> String {
        let what = if failed { "failed opens" } else { "opens" };
        let mut text = match self.set.watches.as_slice() {
            [] => format!("tracing every {what}"),
            watches => {
                let names: Vec<String> = watches
                    .iter()
                    .map(|w| {
                        let mut name = display_name(w.path.as_os_str().as_bytes());
                        if w.dir {
                            name.push_str("/ (and below)");
                        }
                        name
                    })
                    .collect();
                format!("tracing {what} of {}", names.join(", "))
            }
        };
        if !self.pids.is_empty() {
            let mut pids: Vec<String> = self.pids.iter().map(u32::to_string).collect();
            pids.sort();
            text.push_str(&format!(" by process {}", pids.join(", ")));
        }
        text
    }

    /// The name of `uid`; `None` when it has none (JSON null; text shows the number, as lsof does).
    fn user(&mut self, uid: u32) -> Option<String> {
        self.users.name(uid)
    }

    /// Who holds the watched paths now, as `lsof PATH` lists them (nothing without a watched path). Taken once the
    /// probes are attached: a file opened meanwhile is in both, none is in neither.
    /// Marks watched directories created since start (call every tick): see `WatchSet::mark_new_dirs`.
    pub(crate) fn watch_new_dirs(&mut self) {
        if let Err(err) = self.set.mark_new_dirs(&mut self.maps) {
            eprintln!("tracer: warning: a watched directory created after start cannot be watched: {err:#}");
        }
    }

    pub(crate) fn report_holders(&mut self, io: &mut Io) -> Result<(), OutputClosed> {
        if self.set.watches.is_empty() {
            // `opens -p PID`: everything the processes hold, as `lsof -p PID` lists it.
            let mut pids: Vec<u32> = self.pids.iter().copied().filter(|&p| self.in_snapshot(p)).collect();
            pids.sort_unstable();
            return report_table(&pids, &mut io.out, &mut io.origins, &mut self.users);
        }
        let pids = (!self.pids.is_empty()).then_some(&self.pids);
        let mut holds = snapshot::holders(&self.set, pids);
        holds.retain(|h| self.in_snapshot(h.pid));
        self.snapshot(&holds, io)
    }

    fn in_snapshot(&self, pid: u32) -> bool {
        self.snapshot_filter.as_ref().is_none_or(|f| f.holds_pid(pid))
    }

    fn snapshot(&mut self, holds: &[Hold], io: &mut Io) -> Result<(), OutputClosed> {
        io.out.text_only(&format!("{:<16} {:>7} {:<10} {:>5} {:>10} NAME", "COMMAND", "PID", "USER", "FD", "NODE"))?;
        for hold in holds {
            // Each row names its holder's cgroup, container and namespace pid as /proc says now.
            let origin = io.origins.of_pid(hold.pid);
            io.out.set_origin(Some(origin));
            let comm = procfs::comm(hold.pid).unwrap_or_default();
            let uid = procfs::uid(hold.pid);
            let user = uid.and_then(|u| self.user(u));
            let path = hold.path.as_os_str().as_bytes();
            let (fd, mode) = match hold.slot {
                Slot::Fd(fd, mode) => (FdField::Number(fd), Some(mode.to_string()).filter(|m| m != " ")),
                Slot::Cwd => (FdField::Name("cwd"), None),
                Slot::Root => (FdField::Name("rtd"), None),
                Slot::Text => (FdField::Name("txt"), None),
                Slot::Mem => (FdField::Name("mem"), None),
            };
            let held = HeldFile {
                source: "snapshot",
                pid: hold.pid,
                start_ns: procfs::start_ns(hold.pid),
                comm: Text::of(&comm),
                uid,
                user,
                fd,
                mode,
                path: Text::of(path),
                dev: dev_text(hold.ident.dev),
                inode: hold.ident.ino,
                details: None,
            };
            io.out.emit(&records::Holder { held: &held }, |r| {
                format!(
                    "{:<16} {:>7} {:<10} {:>5} {:>10} {}",
                    display_name(&comm),
                    r.held.pid,
                    r.held.user.clone().or_else(|| r.held.uid.map(|u| u.to_string())).as_deref().unwrap_or("?"),
                    hold.slot.text(),
                    r.held.inode,
                    display_name(path)
                )
            })?;
        }
        io.out.set_origin(None);
        if holds.is_empty() {
            io.out.text_only("(no process has it open)")?;
        }
        io.out.flush()
    }

    pub(crate) fn header(&mut self, io: &mut Io) -> Result<(), OutputClosed> {
        io.out.text_only("")?;
        io.out.text_only(&format!(
            "{:<15} {:>7} {:>7} {:<16} {:<10} {:>4} {:<8} {:>9} {:<24} PATH",
            "TIME", "PID", "TID", "COMMAND", "USER", "FD", "ERR", "LATENCY", "FLAGS"
        ))?;
        io.out.flush()
    }

    /// The directory a relative name starts at, named: from /proc while the process lives (checked against the
    /// kernel's identity), else from the directories the watch knows.
    fn base_dir(&mut self, e: &OpenEvent) -> Option<PathBuf> {
        if e.status & status::BASE_KNOWN == 0 {
            return None;
        }
        self.dir_named(e.header.pid, e.dfd, Ident { dev: e.base_dev, ino: e.base_ino })
    }

    /// The directory `ident` that `pid` reached through `dfd` (or its cwd), named.
    fn dir_named(&mut self, pid: u32, dfd: i32, ident: Ident) -> Option<PathBuf> {
        let link = if dfd == -100 { "cwd".to_string() } else { format!("fd/{dfd}") };
        let proc_path = PathBuf::from(format!("/proc/{pid}/{link}"));
        if Ident::of(&proc_path) == Some(ident)
            && let Some(path) = std::fs::read_link(&proc_path).ok().as_deref().and_then(link_path)
        {
            if self.set.known_dirs.len() < KNOWN_DIRS_MAX {
                self.set.known_dirs.insert(ident, path.clone());
            }
            return Some(path);
        }
        if let Some(path) = self.set.known_dirs.get(&ident) {
            return Some(path.clone());
        }
        // Gone, in a directory not seen yet: look for that identity below the watched directories (where the
        // kernel found it, for a directory watch) and the watched files' directories.
        let roots: Vec<PathBuf> = self
            .set
            .watches
            .iter()
            .filter_map(|w| if w.dir { Some(w.path.clone()) } else { w.path.parent().map(Path::to_path_buf) })
            .collect();
        let found = roots.iter().find_map(|root| paths::find_dir(root, ident, SEARCH_MAX_ENTRIES))?;
        if self.set.known_dirs.len() < KNOWN_DIRS_MAX {
            self.set.known_dirs.insert(ident, found.clone());
        }
        Some(found)
    }

    fn resolve(&mut self, e: &OpenEvent, raw: &[u8]) -> Resolved {
        let file = (e.status & status::FILE_KNOWN != 0).then_some(Ident { dev: e.dev, ino: e.ino });
        if e.ret >= 0
            && let Some(file) = file
        {
            // The fd, while the process still has it.
            let proc_path = PathBuf::from(format!("/proc/{}/fd/{}", e.header.pid, e.ret));
            if Ident::of(&proc_path) == Some(file)
                && let Some(path) = std::fs::read_link(&proc_path).ok().as_deref().and_then(link_path)
            {
                return Resolved { path: Some(path), verified: true };
            }
            // A watched path with that identity now.
            if let Some(w) = self.set.by_ident(file) {
                return Resolved { path: Some(w.path.clone()), verified: true };
            }
            for w in self.set.watches.iter_mut().filter(|w| !w.dir) {
                if Ident::of(&w.path) == Some(file) {
                    w.ident = Some(file);
                    let _ = self.maps.mark(file, watch::FILE);
                    return Resolved { path: Some(w.path.clone()), verified: true };
                }
            }
        }
        // A name cut by the kernel's capture would resolve to another file.
        if e.status & (status::PATH_FAULT | status::PATH_TRUNCATED) != 0 || e.status & status::ENTER_SEEN == 0 {
            return Resolved { path: None, verified: false };
        }
        let absolute = raw.starts_with(b"/");
        let base = if absolute { None } else { self.base_dir(e) };
        let Some(path) = resolve(base.as_deref(), raw) else { return Resolved { path: None, verified: false } };
        let verified = file.is_some_and(|f| Ident::of(&path) == Some(f));
        Resolved { path: Some(path), verified }
    }

    /// Shows one open event; false when it is not of a watched path (it was only a candidate).
    pub(crate) fn on_open(&mut self, e: &OpenEvent, io: &mut Io) -> Result<bool, OutputClosed> {
        let raw = &e.path[..usize::from(e.path_len).min(e.path.len())];
        let resolved = self.resolve(e, raw);
        let unfiltered = e.status & status::UNFILTERED != 0;
        let exact = e.status & (status::MATCH_FILE | status::MATCH_DIR) != 0;

        // Which watch it matched; candidates the kernel could only guess at are confirmed here.
        let watch = if unfiltered {
            None
        } else if let Some(w) = resolved.path.as_deref().and_then(|p| self.set.by_path(p)) {
            Some(w.arg.clone())
        } else if exact || e.status & status::MATCH_BASE_DIR != 0 {
            // The kernel's identity says so; the path could not be named or lies elsewhere (hard link).
            let file = Ident { dev: e.dev, ino: e.ino };
            self.set.by_ident(file).map(|w| w.arg.clone()).or_else(|| self.set.watches.first().map(|w| w.arg.clone()))
        } else if resolved.path.is_none() && e.status & status::MATCH_BASENAME != 0 {
            // Unresolvable, but its base name is a watched file's: shown unresolved, not dropped.
            let name = base_name(raw);
            self.set
                .watches
                .iter()
                .find(|w| !w.dir && base_name(w.path.as_os_str().as_bytes()) == name)
                .map(|w| w.arg.clone())
        } else {
            None
        };
        if !unfiltered && watch.is_none() {
            self.dropped += 1;
            return Ok(false);
        }

        let comm_bytes = c_bytes(&e.header.comm);
        let user = self.user(e.uid);
        let ts_ns = io.clock.wall_ns(e.header.ts_ns);
        let entered = e.status & status::ENTER_SEEN != 0;
        let flags = if entered { open_flags(e.flags) } else { "?".to_string() };
        let creates = e.flags & (libc::O_CREAT | libc::O_TMPFILE) as u64 != 0;
        let mode = (entered && creates).then(|| format!("0{:o}", e.mode));
        let errno = (e.ret < 0).then(|| errno::name(-e.ret as i32));
        let path_bytes: Vec<u8> = match &resolved.path {
            Some(p) => p.as_os_str().as_bytes().to_vec(),
            None => raw.to_vec(),
        };
        let file_known = e.status & status::FILE_KNOWN != 0;
        let truncated = e.status & status::PATH_TRUNCATED != 0;
        let record = Open {
            ts_ns,
            pid: e.header.pid,
            start_ns: records::known_start(e.header.start_ns),
            tid: e.header.tid,
            comm: Text::of(comm_bytes),
            uid: e.uid,
            user: user.as_deref(),
            call: call::name(e.call),
            path: Text::of(&path_bytes),
            path_resolved: resolved.path.is_some(),
            path_verified: resolved.verified,
            requested: Text::of(raw),
            requested_truncated: truncated,
            flags: &flags,
            mode,
            fd: (e.ret >= 0).then_some(e.ret),
            errno,
            ret: e.ret,
            duration_ns: entered.then_some(e.duration_ns),
            watch: Text::of_some(watch.as_ref().map(|w| w.as_os_str().as_bytes())),
            dev: file_known.then(|| dev_text(e.dev)),
            inode: file_known.then_some(e.ino),
        };
        let text_line = self.text_line;
        io.out.emit(&record, |r| {
            let fd = if e.ret >= 0 { e.ret.to_string() } else { "-1".to_string() };
            let latency = if entered { format!("{:.6}", e.duration_ns as f64 / 1e9) } else { "?".to_string() };
            let mut path = display_name(&path_bytes);
            if resolved.path.is_none() && truncated {
                // As strace marks a string it cut.
                path = format!("{path}... (unresolved: longer than the {} bytes captured)", raw.len());
            } else if resolved.path.is_none() {
                path = format!("{path} (unresolved: relative to a directory of a process that is gone)");
            } else if !resolved.verified && e.ret >= 0 {
                path.push_str(" (unverified)");
            }
            if let Some(mode) = &r.mode {
                path = format!("{path} mode={mode}");
            }
            if let Some(line) = text_line {
                let err = errno.map(|e| format!(" failed: {e}")).unwrap_or_default();
                let details = format!("{path} fd={fd} {flags}{err}");
                return line(ts_ns, "open", e.header.pid, comm_bytes, &details);
            }
            format!(
                "{:<15} {:>7} {:>7} {:<16} {:<10} {:>4} {:<8} {:>9} {:<24} {}",
                timestamp(ts_ns, 2),
                e.header.pid,
                e.header.tid,
                display_name(comm_bytes),
                user.clone().unwrap_or_else(|| e.uid.to_string()),
                fd,
                errno.unwrap_or("0"),
                latency,
                flags,
                path
            )
        })?;
        Ok(true)
    }
}

impl Opens {
    /// Shows a rename, link or symlink whose new name is a watched path (or lies below a watched directory); false
    /// when it is not (the kernel's candidate was lexical only).
    pub(crate) fn on_rename(&mut self, e: &RenameEvent, io: &mut Io) -> Result<bool, OutputClosed> {
        let old = &e.old[..usize::from(e.old_len).min(e.old.len())];
        let new = &e.new[..usize::from(e.new_len).min(e.new.len())];
        let path = if e.status & status::PATH_TRUNCATED != 0 {
            None // a cut name would resolve to another file
        } else if new.starts_with(b"/") {
            resolve_new_name(None, new)
        } else if e.status & status::BASE_KNOWN != 0 {
            let base = self.dir_named(e.header.pid, e.new_dfd, Ident { dev: e.base_dev, ino: e.base_ino });
            base.and_then(|b| resolve_new_name(Some(&b), new))
        } else {
            None
        };
        let watch = match &path {
            Some(p) => self.set.by_path(p).map(|w| w.arg.clone()),
            // Its directory and base name are a watched file's (the kernel compared them), but it cannot be named.
            None if e.status & status::MATCH_NAME != 0 => {
                let name = base_name(new);
                self.set
                    .watches
                    .iter()
                    .find(|w| !w.dir && base_name(w.path.as_os_str().as_bytes()) == name)
                    .map(|w| w.arg.clone())
            }
            None => None,
        };
        let Some(watch) = watch else {
            self.dropped += 1;
            return Ok(false);
        };
        // The watched path is another file now: later opens of it are matched by its new identity.
        if let Some(p) = &path {
            for w in self.set.watches.iter_mut().filter(|w| !w.dir && w.path == *p) {
                if let Some(ident) = Ident::of(&w.path) {
                    w.ident = Some(ident);
                    let _ = self.maps.mark(ident, watch::FILE);
                }
            }
        }
        let comm_bytes = c_bytes(&e.header.comm);
        let user = self.user(e.uid);
        let ts_ns = io.clock.wall_ns(e.header.ts_ns);
        let path_bytes: Vec<u8> = path.as_ref().map_or_else(|| new.to_vec(), |p| p.as_os_str().as_bytes().to_vec());
        let call = rename_call::name(e.call);
        let op = rename_call::verb(e.call);
        let record = records::Rename {
            ts_ns,
            pid: e.header.pid,
            start_ns: records::known_start(e.header.start_ns),
            tid: e.header.tid,
            comm: Text::of(comm_bytes),
            uid: e.uid,
            user: user.as_deref(),
            call,
            op,
            old: Text::of(old),
            path: Text::of(&path_bytes),
            path_resolved: path.is_some(),
            requested: Text::of(new),
            watch: Text::of(watch.as_os_str().as_bytes()),
        };
        let text_line = self.text_line;
        io.out.emit(&record, |_| {
            let mut shown = display_name(&path_bytes);
            if path.is_none() {
                shown.push_str(" (unresolved)");
            }
            let names = format!("{} -> {shown}", display_name(old));
            if let Some(line) = text_line {
                return line(ts_ns, op, e.header.pid, comm_bytes, &names);
            }
            let details = format!("{op} {names}");
            format!(
                "{:<15} {:>7} {:>7} {:<16} {:<10} {:>4} {:<8} {:>9} {:<24} {details}",
                timestamp(ts_ns, 2),
                e.header.pid,
                e.header.tid,
                display_name(comm_bytes),
                user.clone().unwrap_or_else(|| e.uid.to_string()),
                "-",
                "0",
                "-",
                call,
            )
        })?;
        Ok(true)
    }
}

impl Handler for Opens {
    fn event(&mut self, event: &Event, io: &mut Io) -> Result<(), OutputClosed> {
        match event {
            Event::Open(e) => self.on_open(e, io).map(drop),
            Event::Rename(e) => self.on_rename(e, io).map(drop),
            _ => Ok(()),
        }
    }

    fn tick(&mut self, _probes: &Probes, _io: &mut Io) -> Result<(), OutputClosed> {
        self.live.retain(|&pid| procfs::exists(pid));
        self.watch_new_dirs();
        Ok(())
    }

    fn finished(&self) -> bool {
        !self.pids.is_empty() && self.live.is_empty()
    }
}

/// Everything `pids` hold, as `lsof -p` lists it (`holder` records with lsof's columns), nothing for none.
pub(crate) fn report_table(
    pids: &[u32],
    out: &mut Output,
    origins: &mut Origins,
    users: &mut UserNames,
) -> Result<(), OutputClosed> {
    if pids.is_empty() {
        return Ok(());
    }
    let mut sockets = table::Sockets::default();
    let entries: Vec<table::Entry> = pids.iter().flat_map(|&pid| table::process(pid, &mut sockets)).collect();
    emit_entries(&entries, out, origins, users, false)?;
    if entries.is_empty() {
        out.text_only("(the process is gone)")?;
    }
    out.flush()
}

/// Files held open with no name left, as `lsof +L1` lists them, by every process (or `pids`; and of those, the
/// ones in `filter`'s cgroup or below it).
pub(crate) fn report_deleted(
    pids: Option<&HashSet<u32>>,
    filter: Option<&CgroupFilter>,
    out: &mut Output,
) -> Result<(), OutputClosed> {
    let mut entries = table::deleted(pids);
    entries.retain(|e| filter.is_none_or(|f| f.holds_pid(e.pid)));
    let mut origins = Origins::new(Hierarchy::detect());
    emit_entries(&entries, out, &mut origins, &mut UserNames::default(), true)?;
    if entries.is_empty() {
        out.text_only("(no deleted file is held open)")?;
    }
    out.flush()
}

/// lsof's table: COMMAND PID USER FD TYPE DEVICE SIZE/OFF [NLINK] NODE NAME, one `holder` record a line, each
/// naming its process's cgroup, container and namespace pid as /proc says now.
fn emit_entries(
    entries: &[table::Entry],
    out: &mut Output,
    origins: &mut Origins,
    users: &mut UserNames,
    nlink_column: bool,
) -> Result<(), OutputClosed> {
    let nlink_head = if nlink_column { format!(" {:>5}", "NLINK") } else { String::new() };
    out.text_only(&format!(
        "{:<16} {:>7} {:<10} {:>5} {:>7} {:>18} {:>10}{nlink_head} {:>9} NAME",
        "COMMAND", "PID", "USER", "FD", "TYPE", "DEVICE", "SIZE/OFF", "NODE"
    ))?;
    // (pid, comm, uid, user, start_ns) of the process whose lines are being written.
    type Process = (u32, Vec<u8>, Option<u32>, Option<String>, Option<u64>);
    let mut last: Option<Process> = None;
    for e in entries {
        // A process's name and user, read once for its lines.
        if last.as_ref().is_none_or(|l| l.0 != e.pid) {
            let comm = procfs::comm(e.pid).unwrap_or_default();
            let uid = procfs::effective_uid(e.pid);
            let user = uid.and_then(|u| users.name(u));
            last = Some((e.pid, comm, uid, user, procfs::start_ns(e.pid)));
            out.set_origin(Some(origins.of_pid(e.pid)));
        }
        let Some((_, comm, uid, user, start_ns)) = &last else { continue };
        let (fd, mode) = match e.slot {
            Slot::Fd(fd, mode) => (FdField::Number(fd), Some(mode.to_string()).filter(|m| m != " ")),
            Slot::Cwd => (FdField::Name("cwd"), None),
            Slot::Root => (FdField::Name("rtd"), None),
            Slot::Text => (FdField::Name("txt"), None),
            Slot::Mem => (FdField::Name("mem"), None),
        };
        let socket = e.socket.as_ref();
        let held = HeldFile {
            source: "snapshot",
            pid: e.pid,
            start_ns: *start_ns,
            comm: Text::of(comm),
            uid: *uid,
            user: user.clone(),
            fd,
            mode,
            path: Text::of(&e.path),
            dev: dev_text(e.dev),
            inode: e.inode,
            details: Some(records::FileDetails {
                file_type: e.file_type.clone(),
                device: e.device.clone(),
                size: e.size,
                offset: e.offset,
                nlink: e.nlink,
                name: Text::of(&e.name),
                deleted: e.deleted,
                proto: socket.map(|s| s.proto),
                family: socket.map(|s| s.family),
                addr: Text::of_some(socket.and_then(|s| s.addr.as_deref())),
                port: socket.and_then(|s| s.port),
                peer_addr: socket.and_then(|s| s.peer_addr.clone()),
                peer_port: socket.and_then(|s| s.peer_port),
                state: socket.and_then(|s| s.state),
            }),
        };
        out.emit(&records::Holder { held: &held }, |r| {
            let user = r.held.user.clone().or_else(|| r.held.uid.map(|u| u.to_string()));
            let nlink = match (nlink_column, e.nlink) {
                (false, _) => String::new(),
                (true, Some(n)) => format!(" {n:>5}"),
                (true, None) => format!(" {:>5}", ""),
            };
            format!(
                "{:<16} {:>7} {:<10} {:>5} {:>7} {:>18} {:>10}{nlink} {:>9} {}",
                display_name(comm),
                e.pid,
                user.as_deref().unwrap_or("?"),
                e.fd_text(),
                e.file_type,
                e.device.as_deref().unwrap_or(""),
                e.size_off(),
                e.node,
                display_name(&e.name)
            )
        })?;
    }
    out.set_origin(None);
    Ok(())
}

/// `major:minor` of a kernel `dev_t`, as /proc/PID/maps and lsof's DEVICE column show it.
fn dev_text(dev: u32) -> String {
    format!("{}:{}", dev >> 20, dev & 0xfffff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{parse_pids, parse_ring_size};

    #[test]
    fn formats_devices_and_parses_pids() {
        assert_eq!(dev_text(8 << 20 | 1), "8:1");
        assert_eq!(parse_pids("1, 2"), Ok(vec![1, 2]));
        assert!(parse_pids("0").is_err());
        assert!(parse_ring_size("1000").is_err());
    }

    #[test]
    fn watches_resolve_and_cover() {
        let dir = std::env::temp_dir().join(format!("tracer-watch-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let file = Watch::new(&dir.join("sub/../missing")).unwrap();
        assert_eq!(file.path, dir.join("missing"));
        assert!(file.ident.is_none() && !file.dir);
        assert!(file.covers(&dir.join("missing")));
        let d = Watch::new(&dir).unwrap();
        assert!(d.dir && d.covers(&dir.join("x/y")) && !d.covers(Path::new("/elsewhere")));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
