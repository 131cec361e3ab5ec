//! Kernel images: the newest Debian kernel package of a [`Spec`], downloaded once with apt and cached as
//! `<cache>/<release>/{vmlinuz,config,modules/}`.
//!
//! The host's own suite (Debian 12) is reached through the host's apt as it is configured. Other suites (bullseye
//! for 5.10, sid for the newest kernel) through apt with a private sources list and private lists and cache
//! directories under `<cache>/apt/<suite>/` ([`Apt`]): the host's apt configuration is never changed. Their
//! Release files are checked against the Debian archive keyring the host has.

use std::{
    collections::HashMap,
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, SystemTime},
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

/// Sort key of a release: `6.1.0-56-cloud-amd64` → (6, 1, 0, 56), `6.12.117+deb12-cloud-amd64` →
/// (6, 12, 117, 0), `7.2.13+deb14-cloud-amd64` → (7, 2, 13, 0).
pub type ReleaseKey = (u64, u64, u64, u64);

/// Parses `release` as `<major>.<minor>.<patch>[-<abi>|+<tag>]-<flavour>` of `spec` (of its series, if it has
/// one); `None` if it is not one (another series, another flavour such as `cloud-amd64` for the generic `amd64`,
/// `rt`, `-dbg`, `-unsigned`).
pub fn parse_release(spec: &Spec, release: &str) -> Option<ReleaseKey> {
    let version = release.strip_suffix(spec.flavour)?.strip_suffix('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (numbers, abi) = match version.find(['-', '+']) {
        None => (version, None),
        Some(i) => (&version[..i], Some(&version[i..])),
    };
    let mut parts = numbers.split('.');
    let (major, minor, patch) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || ![major, minor, patch].iter().all(|p| digits(p)) {
        return None;
    }
    if spec.series.is_some_and(|series| series != format!("{major}.{minor}")) {
        return None;
    }
    let abi = match abi {
        None => 0,
        Some(a) if a.starts_with('-') && digits(&a[1..]) => a[1..].parse().ok()?,
        // Debian's newer and backported kernels: `+deb12`, `+bpo`; no dash allowed (that would be another flavour).
        Some(a) if a.starts_with('+') && a.len() > 1 && !a.contains('-') => 0,
        Some(_) => return None,
    };
    Some((major.parse().ok()?, minor.parse().ok()?, patch.parse().ok()?, abi))
}

/// The Debian archive signing keys (package debian-archive-keyring) that the private sources are checked with.
const ARCHIVE_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// A private suite's lists are refreshed when older than this (the newest kernel changes every few weeks).
const LISTS_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// apt for the host's suite and for private suites; `apt-get update` runs at most once per suite and xtask run.
#[derive(Default)]
pub struct Apt {
    /// Suites updated in this run (`""`: the host's).
    updated: Vec<String>,
    /// The mirrors of the host's Debian archive and security archive, found once.
    mirror: Option<(String, String)>,
    /// `apt-cache pkgnames` per suite, read once per update.
    names: HashMap<String, Vec<String>>,
}

impl Apt {
    /// The newest package of `spec` (or exactly `release`), from the cache or downloaded into it. Runs
    /// `apt-get update` once when apt knows no matching package or the download fails; without network, falls
    /// back to the newest release of the spec already in the cache, with a note.
    pub fn resolve(&mut self, spec: &Spec, release: Option<&str>, cache: &Path) -> Result<Kernel> {
        let suite = spec.suite.unwrap_or("");
        let mut release_found = None;
        let mut err = None;
        if let Err(e) = self.prepare(spec, cache) {
            err = Some(e);
        } else {
            release_found = self.newest(spec, release, cache)?;
            if release_found.is_none() && !self.updated.iter().any(|u| u == suite) {
                match self.update(spec, cache) {
                    Ok(()) => release_found = self.newest(spec, release, cache)?,
                    Err(e) => err = Some(e),
                }
            }
        }
        let cached_fallback = || newest_cached(spec, release, cache);
        let Some(rel) = release_found else {
            if let Some(k) = cached_fallback() {
                let why = err.map_or_else(|| "apt knows no matching linux-image".to_string(), |e| format!("{e:#}"));
                eprintln!("xtask: note: {}: {why}; using the cached {}", spec.name, k.release);
                return Ok(k);
            }
            if let Some(e) = err {
                return Err(e);
            }
            bail!(
                "no Debian package linux-image-{} in {} (apt-cache pkgnames linux-image-)",
                release.map_or_else(|| spec.pattern(), String::from),
                spec.suite.unwrap_or("the host's apt sources")
            );
        };
        if let Some(k) = cached(cache, &rel) {
            return Ok(k);
        }
        let mut result = self.download(spec, cache, &rel);
        if result.is_err() && !self.updated.iter().any(|u| u == suite) {
            eprintln!("xtask: download of linux-image-{rel} failed; updating apt's lists and trying again");
            self.update(spec, cache)?;
            let rel2 = self.newest(spec, release, cache)?.unwrap_or(rel.clone());
            result = match cached(cache, &rel2) {
                Some(k) => Ok(k),
                None => self.download(spec, cache, &rel2),
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

    /// A private suite: its sources list and directories, and an update if its lists are missing or stale
    /// (failing quietly: offline, the lists or the cache serve).
    fn prepare(&mut self, spec: &Spec, cache: &Path) -> Result<()> {
        let Some(suite) = spec.suite else { return Ok(()) };
        let dir = private_dir(cache, suite);
        for d in ["lists/partial", "cache/archives/partial"] {
            fs::create_dir_all(dir.join(d)).with_context(|| format!("cannot create {}", dir.join(d).display()))?;
        }
        let (mirror, security) = self.mirror.get_or_insert_with(host_mirrors).clone();
        let signed = if Path::new(ARCHIVE_KEYRING).is_file() {
            format!("[signed-by={ARCHIVE_KEYRING}] ")
        } else {
            String::new()
        };
        let mut line = format!("deb {signed}{mirror} {suite} main\n");
        // A released suite's newest kernels are in its security suite (bullseye's point releases stopped at
        // 5.10.0-32; bullseye-security has the later ones); sid has none.
        if !["sid", "unstable", "experimental"].contains(&suite) {
            line += &format!("deb {signed}{security} {suite}-security main\n");
        }
        let list = dir.join("sources.list");
        if fs::read_to_string(&list).ok().as_deref() != Some(line.as_str()) {
            fs::write(&list, &line).with_context(|| format!("cannot write {}", list.display()))?;
            let _ = fs::remove_file(dir.join(UPDATED_STAMP));
        }
        let fresh = fs::metadata(dir.join(UPDATED_STAMP))
            .and_then(|m| m.modified())
            .is_ok_and(|t| SystemTime::now().duration_since(t).is_ok_and(|age| age < LISTS_MAX_AGE));
        if !fresh
            && !self.updated.iter().any(|u| u == suite)
            && let Err(e) = self.update(spec, cache)
        {
            eprintln!("xtask: note: {e:#}; using {suite}'s lists as they are");
        }
        Ok(())
    }

    /// `apt-get`/`apt-cache` for `spec`'s suite: the host's apt, or apt on the private sources list of the suite.
    fn command(&self, program: &str, spec: &Spec, cache: &Path) -> Command {
        let mut cmd = Command::new(program);
        if let Some(suite) = spec.suite {
            let dir = private_dir(cache, suite);
            let opt = |k: &str, v: &Path| format!("{k}={}", v.display());
            cmd.arg("-o").arg(opt("Dir::Etc::sourcelist", &dir.join("sources.list")));
            cmd.args(["-o", "Dir::Etc::sourceparts=-"]);
            cmd.arg("-o").arg(opt("Dir::State::Lists", &dir.join("lists")));
            cmd.arg("-o").arg(opt("Dir::Cache", &dir.join("cache")));
            // Only the package lists: no translations, AppStream data or Contents files.
            cmd.args(["-o", "Acquire::Languages=none"]);
            for target in ["DEP-11", "DEP-11-icons", "DEP-11-icons-small", "DEP-11-icons-hidpi", "Contents-deb"] {
                cmd.args(["-o", &format!("Acquire::IndexTargets::deb::{target}::DefaultEnabled=false")]);
            }
        }
        cmd
    }

    /// The newest release apt knows for `spec` (or `release` itself, if apt knows it).
    fn newest(&mut self, spec: &Spec, release: Option<&str>, cache: &Path) -> Result<Option<String>> {
        let suite = spec.suite.unwrap_or("").to_string();
        if !self.names.contains_key(&suite) {
            let out = self
                .command("apt-cache", spec, cache)
                .args(["pkgnames", "linux-image-"])
                .stderr(Stdio::inherit())
                .output()
                .context("cannot run apt-cache")?;
            let text = String::from_utf8_lossy(&out.stdout);
            self.names.insert(suite.clone(), text.lines().map(String::from).collect());
        }
        let releases = self.names[&suite].iter().filter_map(|p| p.strip_prefix("linux-image-"));
        let best = releases
            .filter(|r| release.is_none_or(|want| *r == want))
            .filter_map(|r| Some((parse_release(spec, r)?, r)))
            .max()
            .map(|(_, r)| r.to_string());
        Ok(best)
    }

    fn update(&mut self, spec: &Spec, cache: &Path) -> Result<()> {
        let suite = spec.suite.unwrap_or("");
        self.updated.push(suite.to_string());
        self.names.remove(suite);
        let mut cmd = self.command("apt-get", spec, cache);
        // `apt-get update` says nothing about a suite it could not fetch or whose signature is wrong unless
        // asked to fail on it.
        cmd.args(["update", "-qq"]);
        if spec.suite.is_some() {
            cmd.args(["-o", "APT::Update::Error-Mode=any"]);
        }
        crate::run(&mut cmd, Path::new("/"))?;
        if let Some(suite) = spec.suite {
            fs::write(private_dir(cache, suite).join(UPDATED_STAMP), "")?;
        }
        Ok(())
    }

    /// `apt-get download` of the kernel `release`, keeping only the image, its config and a few modules as
    /// `<cache>/<release>/{vmlinuz,config,modules/}`. The directory appears complete or not at all (renamed into
    /// place).
    ///
    /// Up to Debian 13 `linux-image-RELEASE` holds everything (`/boot/vmlinuz-RELEASE`, `/boot/config-RELEASE`,
    /// `/lib/modules/RELEASE/kernel/...`). sid splits a kernel: `linux-image-RELEASE` is an empty package that
    /// depends on `linux-binary-RELEASE` (`/usr/lib/modules/RELEASE/vmlinuz`), `linux-modules-RELEASE` (the
    /// `.ko` files) and `linux-base-RELEASE` (`/usr/lib/modules/RELEASE/config`): those that the image package
    /// depends on are downloaded with it, and each file is looked for in all of them.
    fn download(&self, spec: &Spec, cache: &Path, release: &str) -> Result<Kernel> {
        let pkg = format!("linux-image-{release}");
        let tmp = cache.join(format!(".{release}.tmp.{}", std::process::id()));
        let _ = fs::remove_dir_all(&tmp);
        fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        let result = (|| -> Result<Kernel> {
            let mut pkgs = vec![pkg.clone()];
            pkgs.extend(self.split_packages(spec, cache, release));
            eprintln!("xtask: downloading {} into {}", pkgs.join(" "), cache.display());
            // Into a directory of root's: apt's download user `_apt` could not write there (apt warns and
            // downloads as root anyway).
            let mut download = self.command("apt-get", spec, cache);
            download.args(["download", "-qq", "-o", "APT::Sandbox::User=root"]).args(&pkgs);
            crate::run(&mut download, &tmp)?;
            let debs: Vec<Deb> = fs::read_dir(&tmp)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "deb"))
                .map(Deb::open)
                .collect::<Result<_>>()?;
            if debs.is_empty() {
                bail!("apt-get download {pkg} left no .deb in {}", tmp.display());
            }
            let unpacked = tmp.join("root");
            fs::create_dir_all(&unpacked)?;
            let dir = tmp.join("kernel");
            fs::create_dir_all(&dir)?;
            // Only the image, its config and a few modules: the rest of the modules is most of the download.
            for (file, names) in [
                ("vmlinuz", [format!("./boot/vmlinuz-{release}"), format!("/lib/modules/{release}/vmlinuz")]),
                ("config", [format!("./boot/config-{release}"), format!("/lib/modules/{release}/config")]),
            ] {
                let (deb, member) = debs
                    .iter()
                    .find_map(|d| {
                        d.members.iter().find(|m| names.iter().any(|n| m.ends_with(n.as_str()))).map(|m| (d, m))
                    })
                    .with_context(|| {
                        format!("no {file} of {release} (boot/{file}-* or lib/modules/*/{file}) in {}", pkgs.join(" "))
                    })?;
                deb.extract(&unpacked, std::slice::from_ref(member))?;
                fs::rename(unpacked.join(member), dir.join(file))?;
            }
            guest_modules(&debs, &unpacked, &dir.join("modules"))?;
            fs::write(dir.join(SOURCE), format!("{}\n{}\n", spec.suite.unwrap_or(HOST_SUITE), pkgs.join(" ")))?;
            let dest = cache.join(release);
            let _ = fs::remove_dir_all(&dest);
            fs::rename(&dir, &dest).with_context(|| format!("cannot move the kernel to {}", dest.display()))?;
            cached(cache, release).context("the cached kernel is incomplete")
        })();
        let _ = fs::remove_dir_all(&tmp);
        result
    }

    /// `linux-binary-RELEASE`, `linux-modules-RELEASE`, `linux-base-RELEASE` when `linux-image-RELEASE` depends
    /// on them (sid's split kernel packages).
    fn split_packages(&self, spec: &Spec, cache: &Path, release: &str) -> Vec<String> {
        let out = self
            .command("apt-cache", spec, cache)
            .args(["show", "--no-all-versions", &format!("linux-image-{release}")])
            .stderr(Stdio::null())
            .output();
        let text = out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
        let depends = text.lines().find_map(|l| l.strip_prefix("Depends:")).unwrap_or("");
        let mut pkgs = Vec::new();
        for dep in depends.split([',', '|']) {
            let name = dep.split_whitespace().next().unwrap_or("");
            let split = ["linux-binary-", "linux-modules-", "linux-base-"]
                .iter()
                .any(|p| name.strip_prefix(p) == Some(release));
            if split && !pkgs.iter().any(|p| p == name) {
                pkgs.push(name.to_string());
            }
        }
        pkgs
    }
}

/// The value of [`SOURCE`]'s first line for the host's own apt sources.
const HOST_SUITE: &str = "host";

/// The file in a cached kernel's directory naming the suite it came from and the packages downloaded.
const SOURCE: &str = "source";

/// Written in a private suite's directory after each successful `apt-get update`.
const UPDATED_STAMP: &str = "updated";

fn private_dir(cache: &Path, suite: &str) -> PathBuf {
    cache.join("apt").join(suite)
}

/// The Debian archive and security archive mirrors the host's apt uses (`deb.debian.org/debian` and
/// `deb.debian.org/debian-security` if none is found): the first `URIs:` (deb822 `.sources`) or `deb` line
/// (`.list`) that serves each, not a third party's repository.
fn host_mirrors() -> (String, String) {
    let uris = host_uris();
    let find = |suffix: &str, default: &str| {
        uris.iter()
            .find(|u| is_debian_archive(u, suffix))
            .map_or(default.to_string(), |u| u.trim_end_matches('/').into())
    };
    (find("/debian", "http://deb.debian.org/debian"), find("/debian-security", "http://deb.debian.org/debian-security"))
}

/// Every URI of the host's apt sources, in the order apt reads them.
fn host_uris() -> Vec<String> {
    let mut all = Vec::new();
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(entries) = fs::read_dir("/etc/apt/sources.list.d") {
        let mut more: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        more.sort();
        files.extend(more);
    }
    for f in files {
        let Ok(text) = fs::read_to_string(&f) else { continue };
        let ext = f.extension().and_then(|x| x.to_str()).unwrap_or("");
        let uris: Vec<String> = match ext {
            "sources" => text
                .lines()
                .filter_map(|l| l.strip_prefix("URIs:"))
                .flat_map(|l| l.split_whitespace().map(String::from).collect::<Vec<_>>())
                .collect(),
            "list" => text
                .lines()
                .filter_map(|l| {
                    let mut words = l.split_whitespace();
                    (words.next()? == "deb").then_some(())?;
                    let mut w = words.next()?;
                    if w.starts_with('[') {
                        while !w.ends_with(']') {
                            w = words.next()?;
                        }
                        w = words.next()?;
                    }
                    Some(w.to_string())
                })
                .collect(),
            _ => continue,
        };
        all.extend(uris);
    }
    all
}

/// With `suffix` `/debian`: `http://deb.debian.org/debian`, `http://ftp.fr.debian.org/debian/`, a proxy's
/// `http://host:3142/debian`; not `.../debian-security` nor another project's repository.
fn is_debian_archive(uri: &str, suffix: &str) -> bool {
    (uri.starts_with("http://") || uri.starts_with("https://")) && uri.trim_end_matches('/').ends_with(suffix)
}

/// A downloaded `.deb` and the paths of its members.
struct Deb {
    path: PathBuf,
    members: Vec<String>,
}

impl Deb {
    fn open(path: PathBuf) -> Result<Deb> {
        let script = "dpkg-deb --fsys-tarfile \"$1\" | tar -t";
        let out = Command::new("sh").args(["-ec", script, "sh"]).arg(&path).output().context("cannot run dpkg-deb")?;
        if !out.status.success() {
            bail!("cannot list {}: {}", path.display(), String::from_utf8_lossy(&out.stderr).trim());
        }
        let members = String::from_utf8_lossy(&out.stdout).lines().map(String::from).collect();
        Ok(Deb { path, members })
    }

    /// `dpkg-deb --fsys-tarfile DEB | tar -x` of exactly these members.
    fn extract(&self, dest: &Path, members: &[String]) -> Result<()> {
        let script = "deb=$1 dest=$2; shift 2; dpkg-deb --fsys-tarfile \"$deb\" | tar -x -C \"$dest\" \"$@\"";
        crate::run(Command::new("sh").args(["-ec", script, "sh"]).arg(&self.path).arg(dest).args(members), dest)
    }

    /// The member `.../kernel/.../NAME.ko[.xz|.zst|.gz]`.
    fn module(&self, name: &str) -> Option<&String> {
        self.members.iter().find(|m| {
            m.contains("/kernel/")
                && m.rsplit('/')
                    .next()
                    .and_then(|f| f.strip_prefix(name))
                    .is_some_and(|r| r == ".ko" || r.starts_with(".ko."))
        })
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

/// Extracts [`GUEST_MODULES`] and their dependencies from `debs` (unpacked under `unpacked`) into `dest` as
/// uncompressed `NAME.ko` files (busybox insmod does not read `.ko.xz`), plus [`MODULE_ORDER`].
fn guest_modules(debs: &[Deb], unpacked: &Path, dest: &Path) -> Result<()> {
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
        for m in &missing {
            let Some((deb, member)) = debs.iter().find_map(|d| d.module(m).map(|member| (d, member))) else {
                eprintln!("xtask: note: module {m} is in none of the packages (built in?)");
                files.insert(m.clone(), PathBuf::new());
                continue;
            };
            deb.extract(unpacked, std::slice::from_ref(member))?;
            let path = unpacked.join(member);
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

/// The newest complete kernel of `spec` (or `release`) in the cache, downloaded from the spec's suite (entries
/// without a [`SOURCE`] file came from the host's suite).
fn newest_cached(spec: &Spec, release: Option<&str>, cache: &Path) -> Option<Kernel> {
    let entries = fs::read_dir(cache).ok()?;
    let suite = spec.suite.unwrap_or(HOST_SUITE);
    let from = |r: &str| {
        let source = fs::read_to_string(cache.join(r).join(SOURCE)).unwrap_or_default();
        source.lines().next().unwrap_or(HOST_SUITE) == suite
    };
    entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|r| release.is_none_or(|want| r == want))
        .filter(|r| from(r))
        .filter_map(|r| Some((parse_release(spec, &r)?, r)))
        .filter(|(_, r)| cached(cache, r).is_some())
        .max()
        .and_then(|(_, r)| cached(cache, &r))
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
        let cloud510 = spec("5.10-cloud");
        let cloud61 = spec("6.1-cloud");
        let generic61 = spec("6.1-generic");
        let cloud612 = spec("6.12-cloud");
        let newest = spec("newest-cloud");
        assert_eq!(parse_release(cloud510, "5.10.0-35-cloud-amd64"), Some((5, 10, 0, 35)));
        assert_eq!(parse_release(cloud510, "5.10.0-35-amd64"), None);
        assert_eq!(parse_release(cloud510, "5.1.0-35-cloud-amd64"), None);
        assert_eq!(parse_release(cloud61, "6.1.0-56-cloud-amd64"), Some((6, 1, 0, 56)));
        assert_eq!(parse_release(cloud61, "6.10.0-5-cloud-amd64"), None);
        assert_eq!(parse_release(generic61, "6.1.0-56-cloud-amd64"), None);
        assert_eq!(parse_release(generic61, "6.1.0-56-amd64"), Some((6, 1, 0, 56)));
        assert_eq!(parse_release(generic61, "6.1.0-56-rt-amd64"), None);
        assert_eq!(parse_release(cloud61, "6.1.0-56-cloud-amd64-dbg"), None);
        assert_eq!(parse_release(cloud61, "6.12.117+deb12-cloud-amd64"), None);
        assert_eq!(parse_release(cloud612, "6.12.117+deb12-cloud-amd64"), Some((6, 12, 117, 0)));
        assert_eq!(parse_release(cloud612, "6.12.117+deb12-cloud-amd64-unsigned"), None);
        assert_eq!(parse_release(cloud612, "6.1.0-56-cloud-amd64"), None);
        assert!(parse_release(cloud61, "6.1.0-9-cloud-amd64") < parse_release(cloud61, "6.1.0-56-cloud-amd64"));
        // sid: any series, the newest wins; its split packages and `-dbg`/`-unsigned` names are not releases.
        assert_eq!(parse_release(newest, "7.2.13+deb14-cloud-amd64"), Some((7, 2, 13, 0)));
        assert_eq!(parse_release(newest, "7.2.13+deb14-cloud-amd64-dbg"), None);
        assert_eq!(parse_release(newest, "7.2.13+deb14-amd64"), None);
        assert_eq!(parse_release(newest, "cloud-amd64"), None);
        assert!(parse_release(newest, "6.19.9+deb14-cloud-amd64") < parse_release(newest, "7.2.13+deb14-cloud-amd64"));
        assert!(parse_release(newest, "7.2.13+deb14-cloud-amd64") < parse_release(newest, "7.10.1+deb14-cloud-amd64"));
        assert!(parse_release(newest, "7.2.9+deb14-cloud-amd64") < parse_release(newest, "7.2.13+deb14-cloud-amd64"));
    }

    #[test]
    fn debian_archives() {
        assert!(is_debian_archive("http://deb.debian.org/debian", "/debian"));
        assert!(is_debian_archive("http://ftp.fr.debian.org/debian/", "/debian"));
        assert!(!is_debian_archive("http://deb.debian.org/debian-security", "/debian"));
        assert!(is_debian_archive("http://deb.debian.org/debian-security", "/debian-security"));
        assert!(!is_debian_archive("https://deb.nodesource.com/node_20.x", "/debian"));
    }
}
