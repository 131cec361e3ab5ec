//! `tracer monitor --config FILE`: the same options as the command line, in TOML. Keys are the long option names
//! (`rotate_size` or `rotate-size`); an option given on the command line wins over the file.

use std::{net::SocketAddr, path::PathBuf};

use anyhow::{Context as _, bail};
use clap::{ArgMatches, parser::ValueSource};
use serde::Deserialize;

use super::MonitorArgs;

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    json: Option<bool>,
    output: Option<PathBuf>,
    #[serde(alias = "rotate-size")]
    rotate_size: Option<u64>,
    #[serde(alias = "rotate-keep")]
    rotate_keep: Option<u32>,
    binds: Option<bool>,
    conns: Option<bool>,
    sigchld: Option<bool>,
    /// `--watch`, repeated: `watch = ["/etc/passwd", "/etc/ssh/"]`.
    watch: Option<Vec<PathBuf>>,
    #[serde(alias = "syscall-stats")]
    syscall_stats: Option<bool>,
    interval: Option<u64>,
    top: Option<usize>,
    #[serde(alias = "metrics-addr")]
    metrics_addr: Option<SocketAddr>,
    #[serde(alias = "no-bpf-stats")]
    no_bpf_stats: Option<bool>,
    #[serde(alias = "rate-limit")]
    rate_limit: Option<u32>,
    #[serde(alias = "buffer-size")]
    buffer_size: Option<u32>,
}

/// A config file is a few hundred bytes; this is far more, and keeps `--config /dev/zero` from eating memory.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

fn read_capped(path: &std::path::Path) -> anyhow::Result<String> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        anyhow::bail!("it is larger than {} KiB, too large for a config file", MAX_CONFIG_BYTES >> 10);
    }
    String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("it is not UTF-8 text"))
}

/// Fills in `args` from `args.config`, except what `matches` says came from the command line.
pub fn apply(args: &mut MonitorArgs, matches: &ArgMatches) -> anyhow::Result<()> {
    let Some(path) = args.config.clone() else { return Ok(()) };
    let text = read_capped(&path).with_context(|| format!("cannot read config file {}", path.display()))?;
    let file: ConfigFile =
        toml::from_str(&text).with_context(|| format!("config file {} is not valid", path.display()))?;
    let (config, cli) = (path.display(), |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine));
    macro_rules! take {
        ($field:ident) => {
            take!($field, $field)
        };
        ($field:ident, $($place:ident).+) => {
            if let Some(value) = file.$field
                && !cli(stringify!($field))
            {
                args.$($place).+ = value.into();
            }
        };
    }
    if let Some(secs) = file.interval
        && !(1..=86400).contains(&secs)
    {
        bail!("{config}: interval must be 1 to 86400 seconds");
    }
    if let Some(rate) = file.rate_limit
        && !(1..=1_000_000).contains(&rate)
    {
        bail!("{config}: rate_limit must be 1 to 1000000");
    }
    if let Some(size) = file.buffer_size {
        crate::cli::parse_ring_size(&size.to_string()).map_err(|e| anyhow::anyhow!("{config}: buffer_size: {e}"))?;
    }
    take!(json, out.json);
    take!(output, out.output);
    take!(rotate_size);
    take!(rotate_keep);
    take!(binds);
    take!(conns);
    take!(sigchld);
    take!(watch);
    take!(syscall_stats);
    take!(interval);
    take!(top);
    take!(metrics_addr);
    take!(no_bpf_stats);
    take!(rate_limit);
    take!(buffer_size, ring.buffer_size);
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::{Args as _, FromArgMatches as _};

    use super::*;

    fn parse(argv: &[&str], config: &str) -> anyhow::Result<MonitorArgs> {
        let dir = std::env::temp_dir().join(format!(
            "tracer-config-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir)?;
        let file = dir.join("monitor.toml");
        std::fs::write(&file, config)?;
        let cmd = MonitorArgs::augment_args(clap::Command::new("monitor"));
        let mut all = vec!["monitor", "--config", file.to_str().unwrap()];
        all.extend_from_slice(argv);
        let matches = cmd.try_get_matches_from(all)?;
        let mut args = MonitorArgs::from_arg_matches(&matches)?;
        let result = apply(&mut args, &matches);
        let _ = std::fs::remove_dir_all(&dir);
        result.map(|()| args)
    }

    #[test]
    fn the_file_fills_in_and_the_command_line_wins() {
        let args = parse(
            &["--interval", "3"],
            "json = true\nsigchld = false\noutput = \"/var/log/x.jsonl\"\ninterval = 30\nrotate-keep = 9\n\
             metrics_addr = \"127.0.0.1:9464\"\nsyscall_stats = true\nwatch = [\"/etc/passwd\", \"/etc/ssh/\"]\n",
        )
        .unwrap();
        assert!(args.out.json && !args.sigchld && args.syscall_stats);
        assert_eq!(args.out.output.as_deref(), Some(std::path::Path::new("/var/log/x.jsonl")));
        assert_eq!(args.interval, 3, "the command line wins");
        assert_eq!(args.rotate_keep, 9);
        assert_eq!(args.top, 10, "defaults stay");
        assert_eq!(args.metrics_addr, Some("127.0.0.1:9464".parse().unwrap()));
        assert_eq!(args.watch, [std::path::Path::new("/etc/passwd"), std::path::Path::new("/etc/ssh/")]);
        let args = parse(&["--watch", "/tmp/x"], "watch = [\"/etc/passwd\"]\n").unwrap();
        assert_eq!(args.watch, [std::path::Path::new("/tmp/x")], "the command line wins");
    }

    #[test]
    fn mistakes_are_errors() {
        assert!(parse(&[], "jsn = true\n").is_err(), "unknown key");
        assert!(parse(&[], "interval = 0\n").is_err());
        assert!(parse(&[], "buffer_size = 5000\n").is_err());
        assert!(parse(&[], "metrics_addr = \"localhost\"\n").is_err());
        assert!(parse(&[], "json = \"yes\"\n").is_err());
        assert!(parse(&[], "watch = \"/etc/passwd\"\n").is_err(), "a list");
    }
}
