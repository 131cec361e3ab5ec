//! `-c`: the table strace prints, from counts kept in the kernel.

use serde::Serialize;
use tracer_common::syscalls::SyscallStat;

use super::decode::SyscallTable;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Row {
    pub name: String,
    pub calls: u64,
    pub errors: u64,
    pub total_ns: u64,
}

/// Rows with at least one call, most time first (then most calls, then name), as strace sorts them.
pub fn rows(stats: &[SyscallStat], table: &SyscallTable) -> Vec<Row> {
    let mut rows: Vec<Row> = stats
        .iter()
        .enumerate()
        .filter(|(_, s)| s.calls > 0)
        .map(|(nr, s)| Row {
            name: table.name(nr as i32).into_owned(),
            calls: s.calls,
            errors: s.errors,
            total_ns: s.total_ns,
        })
        .collect();
    rows.sort_by(|a, b| b.total_ns.cmp(&a.total_ns).then(b.calls.cmp(&a.calls)).then(a.name.cmp(&b.name)));
    rows
}

pub fn render(rows: &[Row]) -> String {
    let rule = "------ ----------- ----------- --------- --------- ----------------";
    let total_ns: u64 = rows.iter().map(|r| r.total_ns).sum();
    let mut out = String::new();
    out.push_str("% time     seconds  usecs/call     calls    errors syscall\n");
    out.push_str(rule);
    out.push('\n');
    let line = |out: &mut String, pct: f64, ns: u64, calls: u64, errors: u64, name: &str| {
        let usecs = (ns / 1000).checked_div(calls).unwrap_or(0);
        let errors = if errors > 0 { errors.to_string() } else { String::new() };
        out.push_str(&format!(
            "{pct:6.2} {:4}.{:06} {usecs:11} {calls:9} {errors:>9} {name}\n",
            ns / 1_000_000_000,
            (ns % 1_000_000_000) / 1000
        ));
    };
    for row in rows {
        let pct = if total_ns > 0 { 100.0 * row.total_ns as f64 / total_ns as f64 } else { 0.0 };
        line(&mut out, pct, row.total_ns, row.calls, row.errors, &row.name);
    }
    out.push_str(rule);
    out.push('\n');
    let calls = rows.iter().map(|r| r.calls).sum();
    let errors = rows.iter().map(|r| r.errors).sum();
    line(&mut out, 100.0, total_ns, calls, errors, "total");
    out.pop();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_strace() {
        let table = SyscallTable::new(&[]);
        let mut stats = vec![SyscallStat::default(); 512];
        stats[110] = SyscallStat { calls: 10, errors: 0, total_ns: 3_000 };
        stats[257] = SyscallStat { calls: 5, errors: 5, total_ns: 9_000 };
        let rows = rows(&stats, &table);
        assert_eq!(rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["openat", "getppid"]);
        let text = render(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[2], " 75.00    0.000009           1         5         5 openat");
        assert_eq!(lines[5], "100.00    0.000012           0        15         5 total");
    }
}
