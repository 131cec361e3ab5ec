//! cgroups as Linux and the container runtimes lay them out: which hierarchy a host mounts (`/proc/self/mountinfo`),
//! a v1 controller's subsystem id (`/proc/cgroups`), and what a cgroup's path says about its container, pod and
//! systemd unit by the conventions of docker, containerd (CRI, Kubernetes QoS slices), CRI-O, podman and systemd.
//! Pure functions of text: the reading is the resolver's (`crate::cgroups`).

/// The container a cgroup path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRef {
    /// The full id (64 hex digits).
    pub id: String,
    /// `docker`, `containerd`, `cri-o`, `podman`; `None` when the path does not say (a bare id under `kubepods`).
    pub runtime: Option<&'static str>,
}

/// What a cgroup path says about what runs in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathMeaning {
    pub container: Option<ContainerRef>,
    /// A Kubernetes pod's uid (with dashes, as the API shows it).
    pub pod_uid: Option<String>,
    /// The innermost systemd unit (`nginx.service`, `session-3.scope`) that is not a container's own scope.
    pub unit: Option<String>,
}

/// The prefixes of a container's cgroup directory (systemd's `PREFIX<id>.scope`, or cgroupfs's `PREFIX<id>`), with
/// the runtime each names. The conmon monitors (`libpod-conmon-`, `crio-conmon-`) are not containers: their ids do
/// not parse as 64 hex digits after the prefix, so they never match.
const CONTAINER_PREFIXES: [(&str, &str); 4] =
    [("docker-", "docker"), ("cri-containerd-", "containerd"), ("crio-", "cri-o"), ("libpod-", "podman")];

fn is_container_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// The container id and runtime one path component names, given its parent's name (a bare id says its runtime
/// only by where it sits: `/docker/<id>`).
fn container_of(component: &str, parent: Option<&str>) -> Option<ContainerRef> {
    let name = component.strip_suffix(".scope").unwrap_or(component);
    for (prefix, runtime) in CONTAINER_PREFIXES {
        if let Some(id) = name.strip_prefix(prefix)
            && is_container_id(id)
        {
            return Some(ContainerRef { id: id.to_string(), runtime: Some(runtime) });
        }
    }
    if is_container_id(component) {
        let runtime = match parent {
            Some("docker") => Some("docker"),
            // containerd's own cgroupfs layout names the namespace (`/k8s.io/<id>`, `/default/<id>`) but so could
            // anything; under kubepods the runtime (containerd, CRI-O, dockershim) is not in the path.
            _ => None,
        };
        return Some(ContainerRef { id: component.to_string(), runtime });
    }
    None
}

/// A Kubernetes pod uid from `kubepods-burstable-pod<uid>.slice` (systemd driver: the uid's dashes written as
/// underscores) or `pod<uid>` under `kubepods` (cgroupfs driver).
fn pod_of(component: &str, in_kubepods: bool) -> Option<String> {
    let raw = if let Some(slice) = component.strip_suffix(".slice") {
        if !slice.starts_with("kubepods-") {
            return None;
        }
        &slice[slice.rfind("-pod")? + 4..]
    } else if in_kubepods {
        component.strip_prefix("pod")?
    } else {
        return None;
    };
    let uid = raw.replace('_', "-");
    let ok = uid.len() == 36 && uid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    ok.then_some(uid)
}

/// What `path` (a cgroup path from its hierarchy's root, `/a/b`) says: the innermost container, the pod, the unit.
pub fn parse_path(path: &str) -> PathMeaning {
    let components: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let mut meaning = PathMeaning::default();
    let mut in_kubepods = false;
    let mut container_at = None;
    for (i, &component) in components.iter().enumerate() {
        in_kubepods |=
            component == "kubepods" || component.starts_with("kubepods.") || component.starts_with("kubepods-");
        let parent = i.checked_sub(1).map(|p| components[p]);
        if let Some(container) = container_of(component, parent) {
            meaning.container = Some(container);
            container_at = Some(i);
        }
        if let Some(uid) = pod_of(component, in_kubepods) {
            meaning.pod_uid = Some(uid);
        }
    }
    meaning.unit = components
        .iter()
        .enumerate()
        .rev()
        .find(|&(i, c)| Some(i) != container_at && (c.ends_with(".service") || c.ends_with(".scope")))
        .map(|(_, c)| c.to_string());
    meaning
}

/// The first 12 digits of a container id, as `docker ps` and `podman ps` show it.
pub fn short_id(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// A cgroup hierarchy as `/proc/self/mountinfo` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupMount {
    pub mount_point: String,
    /// `cgroup2`, or `cgroup` (v1).
    pub v2: bool,
    /// v1: the controllers (and `name=`) in its super options; empty for v2.
    pub controllers: Vec<String>,
}

/// The cgroup mounts in `/proc/self/mountinfo`'s text, in its order.
pub fn cgroup_mounts(mountinfo: &str) -> Vec<CgroupMount> {
    let mut mounts = Vec::new();
    for line in mountinfo.lines() {
        // `ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS`
        let Some((head, tail)) = line.split_once(" - ") else { continue };
        let Some(mount_point) = head.split(' ').nth(4) else { continue };
        let mut tail = tail.split(' ');
        let (Some(fstype), _, super_options) = (tail.next(), tail.next(), tail.next().unwrap_or("")) else {
            continue;
        };
        let v2 = match fstype {
            "cgroup2" => true,
            "cgroup" => false,
            _ => continue,
        };
        let controllers = if v2 {
            Vec::new()
        } else {
            super_options.split(',').filter(|o| !matches!(*o, "rw" | "ro")).map(str::to_string).collect()
        };
        mounts.push(CgroupMount { mount_point: unescape_mount(mount_point), v2, controllers });
    }
    mounts
}

/// mountinfo writes space, tab, newline and backslash as `\ooo`.
fn unescape_mount(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && let Ok(v) = u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 4]).unwrap_or("x"), 8)
        {
            out.push(v);
            i += 4;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A v1 controller's subsystem id (its index in the kernel's `cgroup_subsys[]`, which `css_set.subsys` is indexed
/// by): `/proc/cgroups` lists every controller built in, in that order.
pub fn subsystem_id(proc_cgroups: &str, controller: &str) -> Option<u32> {
    proc_cgroups
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .position(|l| l.split_whitespace().next() == Some(controller))
        .map(|i| i as u32)
}

/// The last pid of `/proc/PID/status`'s `NSpid:` line: the pid as the process's own pid namespace numbers it;
/// `None` when the process is in the namespace of the /proc read (one number) or the line is missing.
pub fn ns_pid_of_status(status: &str) -> Option<u32> {
    let line = status.lines().find_map(|l| l.strip_prefix("NSpid:"))?;
    let pids: Vec<&str> = line.split_whitespace().collect();
    if pids.len() < 2 {
        return None;
    }
    pids.last()?.parse().ok()
}

/// The path of `pid`'s cgroup in the v1 hierarchy with `controller` (`None`: the v2 hierarchy, `0::PATH`), from
/// `/proc/PID/cgroup`'s text.
pub fn path_in_proc_cgroup<'a>(text: &'a str, controller: Option<&str>) -> Option<&'a str> {
    text.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let matches = match controller {
            None => controllers.is_empty(),
            Some(c) => controllers.split(',').any(|x| x == c),
        };
        matches.then_some(path)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "d3df5fcf16b47471083371ec4302a901a7e122df0aa7e9fff60fbe36c2190bf4";

    fn container(path: &str) -> Option<(String, Option<&'static str>)> {
        parse_path(path).container.map(|c| (c.id, c.runtime))
    }

    #[test]
    fn names_the_container_by_each_runtime_convention() {
        let id = || ID.to_string();
        assert_eq!(container(&format!("/system.slice/docker-{ID}.scope")), Some((id(), Some("docker"))));
        assert_eq!(container(&format!("/docker/{ID}")), Some((id(), Some("docker"))));
        assert_eq!(container(&format!("/libpod_parent/libpod-{ID}")), Some((id(), Some("podman"))));
        assert_eq!(container(&format!("/machine.slice/libpod-{ID}.scope")), Some((id(), Some("podman"))));
        assert_eq!(container(&format!("/system.slice/crio-{ID}.scope")), Some((id(), Some("cri-o"))));
        assert_eq!(container(&format!("/libpod_parent/libpod-conmon-{ID}")), None);
        assert_eq!(container(&format!("/machine.slice/crio-conmon-{ID}.scope")), None);
        assert_eq!(container("/system.slice/nginx.service"), None);
        assert_eq!(container("/"), None);
        // Not 64 lowercase hex digits: not an id.
        assert_eq!(container(&format!("/docker/{}", &ID[1..])), None);
        assert_eq!(container(&format!("/docker/{}", ID.to_uppercase())), None);
    }

    #[test]
    fn names_the_kubernetes_pod_in_both_drivers() {
        let systemd = format!(
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0e2f6a3c_1b2d_4c5e_8f9a_0b1c2d3e4f5a.slice/\
             cri-containerd-{ID}.scope"
        );
        let m = parse_path(&systemd);
        assert_eq!(m.container, Some(ContainerRef { id: ID.into(), runtime: Some("containerd") }));
        assert_eq!(m.pod_uid.as_deref(), Some("0e2f6a3c-1b2d-4c5e-8f9a-0b1c2d3e4f5a"));
        assert_eq!(m.unit, None, "the container's own scope is not its unit");
        // Guaranteed QoS: no QoS slice.
        let m = parse_path(&format!(
            "/kubepods.slice/kubepods-pod0e2f6a3c_1b2d_4c5e_8f9a_0b1c2d3e4f5a.slice/crio-{ID}.scope"
        ));
        assert_eq!(m.pod_uid.as_deref(), Some("0e2f6a3c-1b2d-4c5e-8f9a-0b1c2d3e4f5a"));
        assert_eq!(m.container.unwrap().runtime, Some("cri-o"));
        let cgroupfs = format!("/kubepods/besteffort/pod0e2f6a3c-1b2d-4c5e-8f9a-0b1c2d3e4f5a/{ID}");
        let m = parse_path(&cgroupfs);
        assert_eq!(m.pod_uid.as_deref(), Some("0e2f6a3c-1b2d-4c5e-8f9a-0b1c2d3e4f5a"));
        assert_eq!(m.container, Some(ContainerRef { id: ID.into(), runtime: None }));
        // `pod...` outside kubepods is nobody's pod.
        assert_eq!(parse_path("/pod0e2f6a3c-1b2d-4c5e-8f9a-0b1c2d3e4f5a").pod_uid, None);
    }

    #[test]
    fn names_the_innermost_systemd_unit() {
        assert_eq!(parse_path("/system.slice/nginx.service").unit.as_deref(), Some("nginx.service"));
        assert_eq!(parse_path("/user.slice/user-1000.slice/session-3.scope").unit.as_deref(), Some("session-3.scope"));
        let m = parse_path(&format!("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope"));
        assert_eq!(m.unit.as_deref(), Some("user@1000.service"));
        assert_eq!(m.container.unwrap().runtime, Some("podman"));
        assert_eq!(parse_path("/tracer-test/leaf").unit, None);
        assert_eq!(short_id(ID), "d3df5fcf16b4");
    }

    #[test]
    fn finds_the_hierarchies_and_the_subsystem_ids() {
        let mountinfo = "\
30 23 0:26 / /sys/fs/cgroup rw,nosuid - tmpfs tmpfs ro,mode=755
35 30 0:31 / /sys/fs/cgroup/pids rw,relatime shared:9 - cgroup cgroup rw,pids
36 30 0:32 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
37 30 0:33 / /sys/fs/cgroup/cpu\\040x rw - cgroup cgroup rw,cpu,cpuacct
";
        let mounts = cgroup_mounts(mountinfo);
        assert_eq!(mounts.len(), 3);
        assert_eq!(
            mounts[0],
            CgroupMount { mount_point: "/sys/fs/cgroup/pids".into(), v2: false, controllers: vec!["pids".into()] }
        );
        assert!(mounts[1].v2);
        assert_eq!(mounts[2].mount_point, "/sys/fs/cgroup/cpu x");
        assert_eq!(mounts[2].controllers, ["cpu", "cpuacct"]);
        let proc_cgroups =
            "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpuset\t3\t3\t1\ncpu\t1\t3\t1\npids\t8\t3\t1\n";
        assert_eq!(subsystem_id(proc_cgroups, "cpuset"), Some(0));
        assert_eq!(subsystem_id(proc_cgroups, "pids"), Some(2));
        assert_eq!(subsystem_id(proc_cgroups, "memory"), None);
    }

    #[test]
    fn reads_pids_and_paths_from_proc() {
        assert_eq!(ns_pid_of_status("Name:\tsh\nNSpid:\t4242\t1\n"), Some(1));
        assert_eq!(ns_pid_of_status("Name:\tsh\nNSpid:\t4242\n"), None);
        assert_eq!(ns_pid_of_status("Name:\tsh\n"), None);
        let text = "9:name=systemd:/a\n8:pids:/libpod_parent/x\n2:cpu,cpuacct:/c\n0::/u\n";
        assert_eq!(path_in_proc_cgroup(text, Some("pids")), Some("/libpod_parent/x"));
        assert_eq!(path_in_proc_cgroup(text, Some("cpuacct")), Some("/c"));
        assert_eq!(path_in_proc_cgroup(text, None), Some("/u"));
        assert_eq!(path_in_proc_cgroup(text, Some("memory")), None);
    }
}
