//! Containers' names, read where their runtimes keep them on disk (`linux::runtimes`): never a call to a daemon or
//! over the network. Cached by id: the sources are read again only when an id not seen before asks for its name
//! (a container started since), so each id costs at most one reading.

use std::{collections::HashMap, path::PathBuf};

use crate::linux::runtimes;

/// Container ids to their names (`None`: no runtime's state names it).
#[derive(Default)]
pub struct ContainerNames {
    names: HashMap<String, Option<String>>,
}

/// Ids kept before the cache is emptied (a machine running through short-lived containers).
const CACHE_LIMIT: usize = 1 << 14;

impl ContainerNames {
    /// The name of the container `id` (64 hex digits), as its runtime shows it (`podman ps`, `docker ps`, the
    /// Kubernetes container's name); `None` when no runtime's state on disk names it.
    pub fn name(&mut self, id: &str) -> Option<String> {
        if let Some(known) = self.names.get(id) {
            return known.clone();
        }
        if self.names.len() > CACHE_LIMIT {
            self.names.clear();
        }
        // containers/storage lists every container of podman and CRI-O at once: all of them are cached.
        for (other, name) in storage_names() {
            self.names.insert(other, Some(name));
        }
        if let Some(known) = self.names.get(id) {
            return known.clone();
        }
        let name = docker_name(id).or_else(|| containerd_name(id));
        self.names.insert(id.to_string(), name.clone());
        name
    }
}

/// Every (id, name) in containers/storage's lists, in the configured roots and every driver's directory.
fn storage_names() -> Vec<(String, String)> {
    let conf = std::fs::read_to_string(runtimes::STORAGE_CONF).unwrap_or_default();
    let (graph, run) = runtimes::storage_roots(&conf);
    let roots = [
        graph.unwrap_or_else(|| PathBuf::from(runtimes::STORAGE_GRAPH_ROOT)),
        run.unwrap_or_else(|| PathBuf::from(runtimes::STORAGE_RUN_ROOT)),
    ];
    let mut names = Vec::new();
    for root in roots {
        let Ok(entries) = std::fs::read_dir(&root) else { continue };
        // `overlay-containers`, `vfs-containers`, `btrfs-containers`...: one per storage driver.
        for entry in entries.flatten().filter(|e| e.file_name().to_string_lossy().ends_with("-containers")) {
            for list in runtimes::STORAGE_LISTS {
                if let Ok(text) = std::fs::read_to_string(entry.path().join(list)) {
                    names.extend(runtimes::storage_names(&text));
                }
            }
        }
    }
    names
}

fn docker_name(id: &str) -> Option<String> {
    let daemon = std::fs::read_to_string(runtimes::DOCKER_DAEMON_JSON).ok();
    let root = runtimes::docker_data_root(daemon.as_deref());
    runtimes::docker_name(&std::fs::read_to_string(runtimes::docker_config(&root, id)).ok()?)
}

/// The Kubernetes name of containerd's running task `id`, in whichever containerd namespace it is (`k8s.io`).
fn containerd_name(id: &str) -> Option<String> {
    let namespaces = std::fs::read_dir(runtimes::CONTAINERD_TASKS).ok()?;
    namespaces.flatten().find_map(|ns| {
        let config = std::fs::read_to_string(ns.path().join(id).join("config.json")).ok()?;
        runtimes::cri_name(&config)
    })
}
