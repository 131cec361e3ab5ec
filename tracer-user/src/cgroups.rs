//! Which cgroup, container, pod and unit a record's process was in, for every command: the hierarchy the kernel
//! side reads cgroup ids in (probed from the mounts, never from the kernel's version), the load-time globals that
//! tell it how, and the resolver from a record's cgroup id (its directory's inode number) to that directory's path,
//! and from there to a container by the runtimes' path conventions (`linux::cgroups`).

use std::{collections::HashMap, os::unix::fs::MetadataExt as _, path::PathBuf, sync::Arc};

use tracer_common::event::cgroup_mode;

use crate::{
    bpf::{btf_offset, btf_sized_offset},
    btf::Btf,
    containers::ContainerNames,
    linux::cgroups::{PathMeaning, cgroup_mounts, parse_path, path_in_proc_cgroup, subsystem_id},
    records::Origin,
};

/// v1 controllers tracer reads a task's cgroup in, best first: `pids` is where every runtime puts each container
/// (it limits their process counts) and is never shared with another controller; the others when it is not mounted.
const V1_CONTROLLERS: [&str; 6] = ["pids", "memory", "cpu", "cpuacct", "devices", "freezer"];

/// The hierarchy whose cgroup ids the records carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    /// Where it is mounted: a cgroup's path is its directory's path below this.
    pub root: PathBuf,
    /// v1: the controller whose hierarchy it is, and its subsystem id (`css_set.subsys` index); `None` on v2.
    pub v1: Option<(String, u32)>,
}

impl Hierarchy {
    /// cgroup v2 when `/sys/fs/cgroup` is cgroup2 (the unified layout of systemd and every current distribution);
    /// else the first of `V1_CONTROLLERS` mounted (legacy and hybrid layouts: on hybrid, the runtimes with the
    /// cgroupfs driver put containers in v1's hierarchies only); `None` when neither is mounted.
    pub fn detect() -> Option<Hierarchy> {
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
        let mounts = cgroup_mounts(&mountinfo);
        if mounts.iter().any(|m| m.v2 && m.mount_point == "/sys/fs/cgroup") {
            return Some(Hierarchy { root: PathBuf::from("/sys/fs/cgroup"), v1: None });
        }
        let proc_cgroups = std::fs::read_to_string("/proc/cgroups").ok()?;
        for controller in V1_CONTROLLERS {
            let Some(mount) = mounts.iter().find(|m| !m.v2 && m.controllers.iter().any(|c| c == controller)) else {
                continue;
            };
            let Some(ssid) = subsystem_id(&proc_cgroups, controller) else { continue };
            return Some(Hierarchy {
                root: PathBuf::from(&mount.mount_point),
                v1: Some((controller.to_string(), ssid)),
            });
        }
        None
    }

    /// `pid`'s cgroup path in this hierarchy, from /proc/PID/cgroup.
    pub fn path_of_pid(&self, pid: u32) -> Option<String> {
        let text = crate::procfs::cgroups(pid)?;
        path_in_proc_cgroup(&text, self.v1.as_ref().map(|(c, _)| c.as_str())).map(str::to_string)
    }
}

/// The kernel side's cgroup globals (tracer-ebpf/src/kernel.rs: `CGROUP_*`), for `bpf::Core`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CgroupGlobals {
    pub mode: u8,
    pub task_css_set: u32,
    pub css_set_subsys: u32,
    pub css_cgroup: u32,
    pub cgroup_kn: u32,
    pub kn_id: u32,
}

impl CgroupGlobals {
    /// How the programs read the cgroup of `hierarchy`; `NONE` (every id 0, every cgroup unknown) without one, or
    /// on v1 when BTF does not give the walk's layout.
    pub fn of(hierarchy: Option<&Hierarchy>, btf: &Btf) -> CgroupGlobals {
        match hierarchy {
            None => CgroupGlobals::default(),
            Some(Hierarchy { v1: None, .. }) => CgroupGlobals { mode: cgroup_mode::V2, ..Default::default() },
            Some(Hierarchy { v1: Some((_, ssid)), .. }) => {
                let walk = || -> anyhow::Result<CgroupGlobals> {
                    Ok(CgroupGlobals {
                        mode: cgroup_mode::V1,
                        task_css_set: btf_sized_offset(btf, "task_struct", "cgroups", 8)?,
                        css_set_subsys: btf_offset(btf, "css_set", "subsys")? + 8 * ssid,
                        css_cgroup: btf_sized_offset(btf, "cgroup_subsys_state", "cgroup", 8)?,
                        cgroup_kn: btf_sized_offset(btf, "cgroup", "kn", 8)?,
                        // A u64 since Linux 5.5 (a union of ino and generation before: not read).
                        kn_id: btf_sized_offset(btf, "kernfs_node", "id", 8)?,
                    })
                };
                walk().unwrap_or_default()
            }
        }
    }
}

/// A cgroup as the resolver knows it.
#[derive(Debug)]
pub struct Cgroup {
    pub path: String,
    pub meaning: PathMeaning,
    /// The name of `meaning`'s container, where its runtime keeps it on disk (`containers::ContainerNames`).
    pub container_name: Option<String>,
}

impl Cgroup {
    fn new(path: String, names: &mut ContainerNames) -> Cgroup {
        let meaning = parse_path(&path);
        let container_name = meaning.container.as_ref().and_then(|c| names.name(&c.id));
        Cgroup { path, meaning, container_name }
    }
}

/// Cgroup ids to paths and containers, cached: a cgroup id not seen
/// before has the hierarchy walked again (a container started since); one not found then stays unknown (a
/// cgroup removed before it could be seen), so each id costs at most one walk.
pub struct Origins {
    hierarchy: Option<Hierarchy>,
    cgroups: HashMap<u64, Option<Arc<Cgroup>>>,
    names: ContainerNames,
}

/// Entries kept per cache before it is emptied (a machine running through pids and short-lived cgroups).
const CACHE_LIMIT: usize = 1 << 16;

impl Origins {
    pub fn new(hierarchy: Option<Hierarchy>) -> Origins {
        let mut origins = Origins { hierarchy, cgroups: HashMap::new(), names: ContainerNames::default() };
        origins.walk();
        origins
    }

    /// Every cgroup directory of the hierarchy by inode number.
    fn walk(&mut self) {
        let Some(hierarchy) = &self.hierarchy else { return };
        let mut stack = vec![(hierarchy.root.clone(), String::from("/"))];
        while let Some((dir, path)) = stack.pop() {
            let Ok(meta) = std::fs::metadata(&dir) else { continue };
            if !matches!(self.cgroups.get(&meta.ino()), Some(Some(_))) {
                let cgroup = Cgroup::new(path.clone(), &mut self.names);
                self.cgroups.insert(meta.ino(), Some(Arc::new(cgroup)));
            }
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for entry in entries.flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    let child = if path == "/" { format!("/{name}") } else { format!("{path}/{name}") };
                    stack.push((entry.path(), child));
                }
            }
        }
    }

    /// The cgroup with kernel id `id`; `None` when unknown (0: the kernel side could not read it).
    pub fn cgroup(&mut self, id: u64) -> Option<Arc<Cgroup>> {
        if id == 0 || self.hierarchy.is_none() {
            return None;
        }
        if let Some(known) = self.cgroups.get(&id) {
            return known.clone();
        }
        if self.cgroups.len() > CACHE_LIMIT {
            self.cgroups.clear();
        }
        self.walk();
        self.cgroups.entry(id).or_insert(None).clone()
    }

    /// Where a record's process was, as the kernel read it at the event: its cgroup id and its namespace pid
    /// (0: none or unknown).
    pub fn of_event(&mut self, cgroup_id: u64, ns_pid: u32) -> Origin {
        // The output keeps the last event's origin (`Output::use_event_origin`): this runs when it changes.
        Origin { cgroup: self.cgroup(cgroup_id), ns_pid: (ns_pid != 0).then_some(ns_pid) }
    }

    /// Where a running process is now (a snapshot's row): its cgroup from /proc/PID/cgroup.
    pub fn of_pid(&mut self, pid: u32) -> Origin {
        let path = self.hierarchy.as_ref().and_then(|h| h.path_of_pid(pid));
        let cgroup = path.map(|path| Arc::new(Cgroup::new(path, &mut self.names)));
        Origin { cgroup, ns_pid: crate::procfs::ns_pid(pid) }
    }
}

/// `--cgroup`/`--container`: a cgroup directory whose processes, and those of every cgroup below it, are the only
/// ones traced. The kernel side checks a map of their ids (`CGROUP_ALLOWED`) before it reserves anything; the ids
/// of cgroups made below it later are added every tick (`ids`), so the first 100 ms of a new sub-cgroup's events
/// can be missed: a map rather than `bpf_current_task_under_cgroup`, which knows cgroup v2's hierarchy only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupFilter {
    /// The cgroup's directory.
    pub dir: PathBuf,
    /// Its path from the hierarchy's root, as records name it.
    pub path: String,
    /// The hierarchy's v1 controller (`None`: v2), to find a process's cgroup in /proc/PID/cgroup.
    pub controller: Option<String>,
}

impl CgroupFilter {
    /// The ids of the cgroup and of every cgroup below it now.
    pub fn ids(&self) -> Vec<u64> {
        let mut ids = Vec::new();
        let mut stack = vec![self.dir.clone()];
        while let Some(dir) = stack.pop() {
            let Ok(meta) = std::fs::metadata(&dir) else { continue };
            ids.push(meta.ino());
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            stack.extend(entries.flatten().filter(|e| e.file_type().is_ok_and(|t| t.is_dir())).map(|e| e.path()));
        }
        ids
    }

    /// Whether process `pid` is in the cgroup or below it now (a snapshot's rows), by /proc/PID/cgroup.
    pub fn holds_pid(&self, pid: u32) -> bool {
        let Some(text) = crate::procfs::cgroups(pid) else { return false };
        let Some(path) = path_in_proc_cgroup(&text, self.controller.as_deref()) else { return false };
        path == self.path
            || self.path == "/"
            || path.strip_prefix(self.path.as_str()).is_some_and(|rest| rest.starts_with('/'))
    }
}

/// Why a `--cgroup` or `--container` names nothing tracer can filter by (a usage error).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FilterError {
    #[error("--cgroup and --container need a cgroup hierarchy, and this system has none mounted")]
    NoHierarchy,
    #[error(
        "--cgroup {given}: no such cgroup in {root} (the hierarchy tracer reads{v1}); give its path as /proc/PID/cgroup \
         shows it"
    )]
    NoSuchCgroup { given: String, root: String, v1: String },
    #[error("--container {0}: no running container has that name (give a name or an id as `podman ps` shows them)")]
    NoSuchName(String),
    #[error(
        "--container {0}: no running container has that name, and an id needs at least 4 of its leading hex digits"
    )]
    TooShortId(String),
    #[error("--container {0}: no running container has that id or name")]
    NoSuchContainer(String),
    #[error("--container {given}: {count} running containers have ids starting so; give more digits")]
    Ambiguous { given: String, count: usize },
    #[error("--container {given}: {count} running containers (of different runtimes) have that name; give its id")]
    NameTaken { given: String, count: usize },
}

impl Hierarchy {
    /// `--cgroup PATH`: a path from the hierarchy's root (`/libpod_parent/libpod-ID`), or its directory
    /// (`/sys/fs/cgroup/pids/...`).
    pub fn filter_by_path(&self, given: &str) -> Result<CgroupFilter, FilterError> {
        let root = self.root.to_string_lossy().into_owned();
        let path = match given.strip_prefix(root.as_str()) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
            _ => given,
        };
        let path = format!("/{}", path.trim_matches('/'));
        let dir = self.root.join(path.trim_start_matches('/'));
        let is_cgroup = path.split('/').all(|c| c != "..") && dir.join("cgroup.procs").is_file();
        if !is_cgroup {
            let v1 = self.v1.as_ref().map(|(c, _)| format!(": cgroup v1's {c} controller")).unwrap_or_default();
            return Err(FilterError::NoSuchCgroup { given: given.to_string(), root, v1 });
        }
        Ok(CgroupFilter { dir, path, controller: self.v1.as_ref().map(|(c, _)| c.clone()) })
    }

    /// `--container ID|NAME`: the cgroup of the one running container whose full id is `given`, else whose name
    /// is (read from its runtime's state on disk), else whose id starts with `given` (docker's order).
    pub fn filter_by_container(&self, given: &str) -> Result<CgroupFilter, FilterError> {
        let running = self.running_containers();
        let by_id_prefix =
            |prefix: &str| -> Vec<&String> { running.keys().filter(|id| id.starts_with(prefix)).collect() };
        let lower = given.to_ascii_lowercase();
        let is_hex = !lower.is_empty() && lower.len() <= 64 && lower.bytes().all(|b| b.is_ascii_hexdigit());
        let chosen: Vec<&String> = if is_hex && lower.len() == 64 {
            by_id_prefix(&lower)
        } else {
            let mut names = ContainerNames::default();
            let named: Vec<&String> = running.keys().filter(|id| names.name(id).as_deref() == Some(given)).collect();
            if named.len() > 1 {
                return Err(FilterError::NameTaken { given: given.to_string(), count: named.len() });
            } else if !named.is_empty() {
                named
            } else if !is_hex {
                return Err(FilterError::NoSuchName(given.to_string()));
            } else if lower.len() < 4 {
                return Err(FilterError::TooShortId(given.to_string()));
            } else {
                by_id_prefix(&lower)
            }
        };
        match chosen.as_slice() {
            [] => Err(FilterError::NoSuchContainer(given.to_string())),
            [id] => {
                let path = running[*id].clone();
                Ok(CgroupFilter {
                    dir: self.root.join(path.trim_start_matches('/')),
                    path,
                    controller: self.v1.as_ref().map(|(c, _)| c.clone()),
                })
            }
            many => Err(FilterError::Ambiguous { given: given.to_string(), count: many.len() }),
        }
    }

    /// Every container with a cgroup now: its id, and the path of its outermost cgroup (what runs below it is its
    /// own).
    fn running_containers(&self) -> HashMap<String, String> {
        let mut found: HashMap<String, String> = HashMap::new();
        let mut stack = vec![(self.root.clone(), String::new())];
        while let Some((dir, path)) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for entry in entries.flatten().filter(|e| e.file_type().is_ok_and(|t| t.is_dir())) {
                let child = format!("{path}/{}", entry.file_name().to_string_lossy());
                match parse_path(&child).container {
                    Some(c) => {
                        found.entry(c.id).or_insert(child);
                    }
                    None => stack.push((entry.path(), child)),
                }
            }
        }
        found
    }
}
