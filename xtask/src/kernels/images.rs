//! Kernel images: the newest Debian `linux-image-*` package of a [`Spec`], downloaded once with apt and cached as
//! `<cache>/<release>/{vmlinuz,config}` (the modules are not kept: the guest needs none).

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{Context as _, Result, bail};

use super::Spec;

/// A kernel ready to boot.
#[derive(Clone, Debug)]
pub struct Kernel {
    /// `uname -r` of the kernel, the package name without `linux-image-`: `6.12.117+deb12-cloud-amd64`.
    pub release: String,
    pub image: PathBuf,
    /// Modules the guest loads at boot ([`GUEST_MODULES`]), with their load order in [`MODULE_ORDER`].
    pub modules: PathBuf,
}

/// Sort key of a release of a spec: `6.1.0-56-cloud-amd64` → (0, 56), `6.12.117+deb12-cloud-amd64` → (117, 0).
pub type ReleaseKey = (u64, u64);

/// Parses `release` as `<series>.<patch>[-<abi>|+<tag>]-<flavour>` of `spec`; `None` if it is not one (another
/// series, another flavour such as `cloud-amd64` for the generic `amd64`, `rt`, `-dbg`, `-unsigned`).
pub fn parse_release(spec: &Spec, release: &str) -> Option<ReleaseKey> {
    let version = release.strip_suffix(spec.flavour)?.strip_suffix('-')?;
    let rest = version.strip_prefix(spec.series)?.strip_prefix('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (patch, abi) = match rest.find(['-', '+']) {
        None => (rest, None),
        Some(i) => (&rest[..i], Some(&rest[i..])),
    };
    if !digits(patch) {
        return None;
    }
    let abi = match abi {
        None => 0,
        Some(a) if a.starts_with('-') && digits(&a[1..]) => a[1..].parse().ok()?,
        // Debian's backported series: `+deb12`, `+bpo`; no dash allowed (that would be another flavour).
        Some(a) if a.starts_with('+') && a.len() > 1 && !a.contains('-') => 0,
        Some(_) => return None,
    };
    Some((patch.parse().ok()?, abi))
}

/// apt, run at most once per xtask run for `apt-get update`.
#[derive(Default)]
pub struct Apt {
    updated: bool,
}

impl Apt {
    /// The newest package of `spec` (or exactly `release`), from the cache or downloaded into it. Runs
    /// `apt-get update` once when apt knows no matching package or the download fails; without network, falls
    /// back to the newest release of the spec already in the cache, with a note.
    pub fn resolve(&mut self, spec: &Spec, release: Option<&str>, cache: &Path) -> Result<Kernel> {
        let mut release_found = self.newest(spec, release)?;
        if release_found.is_none() && !self.updated {
            self.update()?;
            release_found = self.newest(spec, release)?;
        }
        let cached_fallback = || newest_cached(spec, release, cache);
        let Some(rel) = release_found else {
            if let Some(k) = cached_fallback() {
                eprintln!("xtask: note: apt knows no linux-image for {}; using the cached {}", spec.name, k.release);
                return Ok(k);
            }
            bail!(
                "no Debian package linux-image-{} (apt-cache pkgnames linux-image-{}.)",
                release.unwrap_or(&format!("{}.*-{}", spec.series, spec.flavour)),
                spec.series
            );
        };
        if let Some(k) = cached(cache, &rel) {
            return Ok(k);
        }
        let mut result = download(cache, &rel);
        if result.is_err() && !self.updated {
            eprintln!("xtask: download of linux-image-{rel} failed; updating apt's lists and trying again");
            self.update()?;
            let rel2 = self.newest(spec, release)?.unwrap_or(rel.clone());
            result = match cached(cache, &rel2) {
                Some(k) => Ok(k),
                None => download(cache, &rel2),
            };
        }
        match result {
            Ok(k) => Ok(k),
            Err(err) => match cached_fallback() {
                Some(k) => {
                    eprintln!("xtask: note: {err:#}; using the cached {} instead", k.release);
                    Ok(k)
                }
                None => Err(err),
            },
        }
    }

    /// The newest release apt knows for `spec` (or `release` itself, if apt knows it).
    fn newest(&self, spec: &Spec, release: Option<&str>) -> Result<Option<String>> {
        let out = Command::new("apt-cache")
            .args(["pkgnames", "linux-image-"])
            .stderr(Stdio::inherit())
            .output()
            .context("cannot run apt-cache")?;
        let text = String::from_utf8_lossy(&out.stdout);
        let releases = text.lines().filter_map(|p| p.strip_prefix("linux-image-"));
        let best = releases
            .filter(|r| release.is_none_or(|want| *r == want))
            .filter_map(|r| Some((parse_release(spec, r)?, r)))
            .max()
            .map(|(_, r)| r.to_string());
        Ok(best)
    }

    fn update(&mut self) -> Result<()> {
        self.updated = true;
        crate::run(Command::new("apt-get").args(["update", "-qq"]), Path::new("/"))
    }
}

/// The cached kernel `release`, if it is complete.
fn cached(cache: &Path, release: &str) -> Option<Kernel> {
    let dir = cache.join(release);
    let image = dir.join("vmlinuz");
    let modules = dir.join("modules");
    // A cache entry made for another GUEST_MODULES list is downloaded again.
    let wanted = fs::read_to_string(modules.join(MODULES_WANTED)).ok();
    let complete = image.is_file() && modules.join(MODULE_ORDER).is_file();
    (complete && wanted.as_deref() == Some(&modules_wanted())).then(|| Kernel {
        release: release.to_string(),
        image,
        modules,
    })
}

/// Modules a Debian system loads on demand (the kernel asks modprobe for them) that tracer's commands need:
/// sock_diag for the sockets that exist (`binds`). The guest has no modprobe: /init loads them at boot, which
/// leaves it as a real system is after the first request. Their dependencies are added.
pub const GUEST_MODULES: &[&str] = &["inet_diag", "tcp_diag", "udp_diag", "raw_diag", "unix_diag"];

/// The file in a kernel's `modules/` directory that lists the modules in load order (dependencies first).
pub const MODULE_ORDER: &str = "order";

/// The file in a kernel's `modules/` directory that records [`GUEST_MODULES`] as it was when they were extracted.
const MODULES_WANTED: &str = "wanted";

fn modules_wanted() -> String {
    GUEST_MODULES.join(" ") + "\n"
}

/// `dpkg-deb --fsys-tarfile DEB | tar -x` of the members matching `patterns` (tar wildcards, `*` matches `/`).
fn extract(deb: &Path, dest: &Path, patterns: &[String]) -> Result<()> {
    let script = "deb=$1 dest=$2; shift 2; dpkg-deb --fsys-tarfile \"$deb\" | tar -x -C \"$dest\" --wildcards \"$@\"";
    crate::run(Command::new("sh").args(["-ec", script, "sh"]).arg(deb).arg(dest).args(patterns), dest)
}

/// Extracts [`GUEST_MODULES`] and their dependencies from `deb` (unpacked under `unpacked`) into `dest` as
/// uncompressed `NAME.ko` files (busybox insmod does not read `.ko.xz`), plus [`MODULE_ORDER`].
fn guest_modules(deb: &Path, unpacked: &Path, dest: &Path) -> Result<()> {
    fs::create_dir_all(dest)?;
    let mut order: Vec<String> = Vec::new();
    let mut wanted: Vec<String> = GUEST_MODULES.iter().map(|m| m.to_string()).collect();
    let mut files: std::collections::BTreeMap<String, PathBuf> = Default::default();
    // Each round extracts what is wanted and learns its dependencies (`modinfo -F depends`).
    for _ in 0..8 {
        let missing: Vec<String> = wanted.iter().filter(|m| !files.contains_key(*m)).cloned().collect();
        if missing.is_empty() {
            break;
        }
        let patterns: Vec<String> = missing.iter().map(|m| format!("*/kernel/*/{m}.ko*")).collect();
        // tar fails when a pattern matches nothing (a module built in): look at what did come out.
        let _ = extract(deb, unpacked, &patterns);
        for m in &missing {
            let Some(path) = find_module(unpacked, m) else {
                eprintln!("xtask: note: module {m} is not in {} (built in?)", deb.display());
                files.insert(m.clone(), PathBuf::new());
                continue;
            };
            let out =
                Command::new("modinfo").args(["-F", "depends"]).arg(&path).output().context("cannot run modinfo")?;
            for dep in String::from_utf8_lossy(&out.stdout).trim().split(',').filter(|d| !d.is_empty()) {
                if !wanted.iter().any(|w| w == dep) {
                    wanted.push(dep.to_string());
                }
            }
            files.insert(m.clone(), path);
        }
    }
    // Load order: a module after its dependencies.
    let depends = |m: &str| -> Vec<String> {
        let path = &files[m];
        let out = Command::new("modinfo").args(["-F", "depends"]).arg(path).output();
        out.map(|o| {
            String::from_utf8_lossy(&o.stdout).trim().split(',').filter(|d| !d.is_empty()).map(String::from).collect()
        })
        .unwrap_or_default()
    };
    let present: Vec<String> =
        files.iter().filter(|(_, p)| !p.as_os_str().is_empty()).map(|(m, _)| m.clone()).collect();
    while order.len() < present.len() {
        let before = order.len();
        for m in &present {
            if !order.contains(m) && depends(m).iter().all(|d| order.contains(d) || !present.contains(d)) {
                order.push(m.clone());
            }
        }
        if order.len() == before {
            bail!("module dependencies form a cycle among {present:?}");
        }
    }
    for m in &order {
        let src = &files[m];
        let ko = dest.join(format!("{m}.ko"));
        if src.extension().is_some_and(|x| x == "xz") {
            let out = Command::new("xz").args(["-dc"]).arg(src).output().context("cannot run xz")?;
            if !out.status.success() {
                bail!("xz -dc {} failed", src.display());
            }
            fs::write(&ko, out.stdout)?;
        } else {
            fs::copy(src, &ko)?;
        }
    }
    fs::write(dest.join(MODULE_ORDER), order.join("\n") + "\n")?;
    fs::write(dest.join(MODULES_WANTED), modules_wanted())?;
    Ok(())
}

/// `<root>/**/kernel/**/NAME.ko[.xz|.zst|.gz]` under the unpacked package.
fn find_module(root: &Path, name: &str) -> Option<PathBuf> {
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).ok()?.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.strip_prefix(name).is_some_and(|rest| rest == ".ko" || rest.starts_with(".ko.")))
            {
                return Some(p);
            }
        }
    }
    None
}

/// The newest complete kernel of `spec` (or `release`) in the cache.
fn newest_cached(spec: &Spec, release: Option<&str>, cache: &Path) -> Option<Kernel> {
    let entries = fs::read_dir(cache).ok()?;
    entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|r| release.is_none_or(|want| r == want))
        .filter_map(|r| Some((parse_release(spec, &r)?, r)))
        .filter(|(_, r)| cached(cache, r).is_some())
        .max()
        .and_then(|(_, r)| cached(cache, &r))
}

/// `apt-get download linux-image-RELEASE`, keeping only `boot/vmlinuz-*` and `boot/config-*` as
/// `<cache>/<release>/{vmlinuz,config}`. The directory appears complete or not at all (renamed into place).
fn download(cache: &Path, release: &str) -> Result<Kernel> {
    let pkg = format!("linux-image-{release}");
    let tmp = cache.join(format!(".{release}.tmp.{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let result = (|| -> Result<Kernel> {
        eprintln!("xtask: downloading {pkg} into {}", cache.display());
        crate::run(Command::new("apt-get").args(["download", "-qq", &pkg]), &tmp)?;
        let deb = fs::read_dir(&tmp)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|x| x == "deb"))
            .with_context(|| format!("apt-get download {pkg} left no .deb in {}", tmp.display()))?;
        let unpacked = tmp.join("root");
        fs::create_dir_all(&unpacked)?;
        // Only /boot and a few modules: the rest of the modules is most of the package.
        extract(&deb, &unpacked, &["./boot/vmlinuz-*".into(), "./boot/config-*".into()])?;
        let boot = unpacked.join("boot");
        let find = |prefix: &str| -> Result<PathBuf> {
            fs::read_dir(&boot)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .find(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(prefix)))
                .with_context(|| format!("no boot/{prefix}* in {}", deb.display()))
        };
        let dir = tmp.join("kernel");
        fs::create_dir_all(&dir)?;
        fs::rename(find("vmlinuz-")?, dir.join("vmlinuz"))?;
        fs::rename(find("config-")?, dir.join("config"))?;
        guest_modules(&deb, &unpacked, &dir.join("modules"))?;
        let dest = cache.join(release);
        let _ = fs::remove_dir_all(&dest);
        fs::rename(&dir, &dest).with_context(|| format!("cannot move the kernel to {}", dest.display()))?;
        cached(cache, release).context("the cached kernel is incomplete")
    })();
    let _ = fs::remove_dir_all(&tmp);
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::SPECS;

    fn spec(name: &str) -> &'static Spec {
        SPECS.iter().find(|s| s.name == name).unwrap()
    }

    #[test]
    fn releases_of_each_spec() {
        let cloud61 = spec("6.1-cloud");
        let generic61 = spec("6.1-generic");
        let cloud612 = spec("6.12-cloud");
        assert_eq!(parse_release(cloud61, "6.1.0-56-cloud-amd64"), Some((0, 56)));
        assert_eq!(parse_release(generic61, "6.1.0-56-cloud-amd64"), None);
        assert_eq!(parse_release(generic61, "6.1.0-56-amd64"), Some((0, 56)));
        assert_eq!(parse_release(generic61, "6.1.0-56-rt-amd64"), None);
        assert_eq!(parse_release(cloud61, "6.1.0-56-cloud-amd64-dbg"), None);
        assert_eq!(parse_release(cloud61, "6.12.117+deb12-cloud-amd64"), None);
        assert_eq!(parse_release(cloud612, "6.12.117+deb12-cloud-amd64"), Some((117, 0)));
        assert_eq!(parse_release(cloud612, "6.12.117+deb12-cloud-amd64-unsigned"), None);
        assert_eq!(parse_release(spec("6.12-cloud"), "6.1.0-56-cloud-amd64"), None);
        assert!(parse_release(cloud61, "6.1.0-9-cloud-amd64") < parse_release(cloud61, "6.1.0-56-cloud-amd64"));
    }
}
