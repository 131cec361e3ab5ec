//! Where the container runtimes keep a container's name on disk, and how to read it from the files' text, with no
//! call to a daemon: containers/storage's lists (podman and CRI-O: `<driver>-containers/containers.json`), docker's
//! `containers/<id>/config.v2.json`, and the OCI bundle's `config.json` that containerd writes for each running
//! task (the CRI plugin puts the Kubernetes container's name in its annotations). Pure functions of text and the
//! locations' conventions: the reading is the resolver's (`crate::containers`).

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// containers/storage's configuration (podman, CRI-O, buildah): where its roots are when not the defaults.
pub const STORAGE_CONF: &str = "/etc/containers/storage.conf";
/// containers/storage's default root of persistent state, where `<driver>-containers/containers.json` lists every
/// container with its names.
pub const STORAGE_GRAPH_ROOT: &str = "/var/lib/containers/storage";
/// containers/storage's default root of state lost at reboot (`volatile-containers.json` in newer versions).
pub const STORAGE_RUN_ROOT: &str = "/run/containers/storage";
/// The lists a containers/storage driver directory may hold: durable containers, and those `--rm` made volatile.
pub const STORAGE_LISTS: [&str; 2] = ["containers.json", "volatile-containers.json"];

/// docker's daemon configuration (its `data-root` when not the default).
pub const DOCKER_DAEMON_JSON: &str = "/etc/docker/daemon.json";
pub const DOCKER_DATA_ROOT: &str = "/var/lib/docker";

/// containerd's runtime v2 task bundles: `<this>/<namespace>/<id>/config.json` while the task runs.
pub const CONTAINERD_TASKS: &str = "/run/containerd/io.containerd.runtime.v2.task";
/// The annotation containerd's CRI plugin gives a Kubernetes container's name in (its pod's sandbox has none).
pub const CRI_CONTAINER_NAME: &str = "io.kubernetes.cri.container-name";

/// The graph and run roots containers/storage's configuration names (`[storage] graphroot`, `runroot`), each
/// `None` where it does not say (the default then), or when the text is not TOML.
pub fn storage_roots(storage_conf: &str) -> (Option<PathBuf>, Option<PathBuf>) {
    #[derive(Deserialize, Default)]
    struct Conf {
        #[serde(default)]
        storage: Storage,
    }
    #[derive(Deserialize, Default)]
    struct Storage {
        graphroot: Option<PathBuf>,
        runroot: Option<PathBuf>,
    }
    let conf: Conf = toml::from_str(storage_conf).unwrap_or_default();
    let nonempty = |p: Option<PathBuf>| p.filter(|p| !p.as_os_str().is_empty());
    (nonempty(conf.storage.graphroot), nonempty(conf.storage.runroot))
}

/// The (id, name) of every container in a containers/storage list (`containers.json`): its first name, as
/// `podman ps` shows it. Empty when the text is not such a list.
pub fn storage_names(list: &str) -> Vec<(String, String)> {
    #[derive(Deserialize)]
    struct Entry {
        id: String,
        #[serde(default)]
        names: Vec<String>,
    }
    let entries: Vec<Entry> = serde_json::from_str(list).unwrap_or_default();
    entries.into_iter().filter_map(|e| Some((e.id, e.names.into_iter().next().filter(|n| !n.is_empty())?))).collect()
}

/// docker's data root: `data-root` in its daemon.json text, else the default.
pub fn docker_data_root(daemon_json: Option<&str>) -> PathBuf {
    #[derive(Deserialize)]
    struct Daemon {
        #[serde(rename = "data-root")]
        data_root: Option<PathBuf>,
    }
    daemon_json
        .and_then(|text| serde_json::from_str::<Daemon>(text).ok())
        .and_then(|d| d.data_root)
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from(DOCKER_DATA_ROOT))
}

/// Where docker keeps the container `id`'s configuration.
pub fn docker_config(data_root: &Path, id: &str) -> PathBuf {
    data_root.join("containers").join(id).join("config.v2.json")
}

/// The name in docker's `config.v2.json` text (`"Name": "/web"`: without its slash, as `docker ps` shows it).
pub fn docker_name(config: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Config {
        #[serde(rename = "Name")]
        name: Option<String>,
    }
    let name = serde_json::from_str::<Config>(config).ok()?.name?;
    let name = name.strip_prefix('/').unwrap_or(&name);
    (!name.is_empty()).then(|| name.to_string())
}

/// The Kubernetes container's name in an OCI bundle's `config.json` text (containerd's CRI plugin annotation).
pub fn cri_name(config: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Spec {
        #[serde(default)]
        annotations: std::collections::HashMap<String, String>,
    }
    let mut spec = serde_json::from_str::<Spec>(config).ok()?;
    spec.annotations.remove(CRI_CONTAINER_NAME).filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "4edcc974c24f4131880e1808297286e0b376b305ea434aea40a6bed24652beee";

    #[test]
    fn reads_containers_storage_lists_and_configuration() {
        // As podman 4.3 writes it for `podman run --name n19probe --rootfs ...`.
        let list = format!(
            r#"[{{"id":"{ID}","names":["n19probe"],"image":"","layer":"0aea","metadata":"{{\"name\":\"n19probe\"}}",
                "created":"2026-12-03T10:09:47.532509092Z","flags":{{"Volatile":true}}}},
               {{"id":"aaaa","names":[]}}, {{"id":"bbbb","names":["first","second"]}}]"#
        );
        assert_eq!(storage_names(&list), [(ID.to_string(), "n19probe".to_string()), ("bbbb".into(), "first".into())]);
        assert!(storage_names("").is_empty());
        assert!(storage_names("{}").is_empty());
        let conf = "[storage]\ndriver = \"overlay\"\nrunroot = \"/run/s\"\ngraphroot = \"/srv/s\"\n";
        assert_eq!(storage_roots(conf), (Some("/srv/s".into()), Some("/run/s".into())));
        assert_eq!(storage_roots("[storage]\ngraphroot = \"\"\n"), (None, None));
        assert_eq!(storage_roots("not toml ["), (None, None));
    }

    #[test]
    fn reads_docker_and_containerd_names() {
        assert_eq!(docker_name(r#"{"ID":"x","Name":"/web","State":{"Running":true}}"#).as_deref(), Some("web"));
        assert_eq!(docker_name(r#"{"ID":"x"}"#), None);
        assert_eq!(docker_name(r#"{"Name":"/"}"#), None);
        assert_eq!(docker_data_root(None), PathBuf::from("/var/lib/docker"));
        assert_eq!(docker_data_root(Some(r#"{"data-root":"/srv/docker"}"#)), PathBuf::from("/srv/docker"));
        assert_eq!(docker_data_root(Some("garbage")), PathBuf::from("/var/lib/docker"));
        assert_eq!(
            docker_config(Path::new("/var/lib/docker"), ID),
            PathBuf::from(format!("/var/lib/docker/containers/{ID}/config.v2.json"))
        );
        let spec = r#"{"ociVersion":"1.1.0","annotations":{"io.kubernetes.cri.container-type":"container",
            "io.kubernetes.cri.container-name":"nginx","io.kubernetes.pod.name":"web-0"}}"#;
        assert_eq!(cri_name(spec).as_deref(), Some("nginx"));
        let sandbox = r#"{"annotations":{"io.kubernetes.cri.container-type":"sandbox"}}"#;
        assert_eq!(cri_name(sandbox), None);
        assert_eq!(cri_name(r#"{"ociVersion":"1.1.0"}"#), None);
    }
}
