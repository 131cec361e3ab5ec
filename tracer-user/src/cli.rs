//! Command-line values every command parses the same way.

/// `-p` values: one pid, or a list separated by commas or spaces, as `pidof` prints it.
pub fn parse_pids(text: &str) -> Result<Vec<u32>, String> {
    let pids = text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(|s| match s.parse::<u32>() {
            Ok(0) | Err(_) => Err(format!("'{s}' is not a process id")),
            Ok(pid) => Ok(pid),
        })
        .collect::<Result<Vec<u32>, String>>()?;
    if pids.is_empty() {
        return Err("no process id given".into());
    }
    Ok(pids)
}

/// `--buffer-size`: the kernel wants a power of two of at least a page.
pub fn parse_ring_size(text: &str) -> Result<u32, String> {
    let size: u32 = text.parse().map_err(|_| format!("'{text}' is not a size in bytes"))?;
    if !size.is_power_of_two() || size < 4096 {
        return Err("the ring buffer size must be a power of two of at least 4096".into());
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pid_lists_as_pidof_prints_them() {
        assert_eq!(parse_pids("12 34"), Ok(vec![12, 34]));
        assert_eq!(parse_pids("12,34"), Ok(vec![12, 34]));
        assert!(parse_pids("0").is_err());
        assert!(parse_pids("abc").is_err());
        assert!(parse_pids("").is_err());
    }

    #[test]
    fn ring_sizes_are_powers_of_two() {
        assert_eq!(parse_ring_size("8388608"), Ok(8 << 20));
        assert!(parse_ring_size("1000").is_err());
        assert!(parse_ring_size("2048").is_err());
    }
}
