//! errno values in the user's terms: the kernel's names (`ENOENT`), glibc's texts as strace prints them ("No such
//! file or directory"), the kernel-internal restart codes a signal-interrupted call returns (`ERESTARTSYS`), and one
//! fallback for a number none of these knows: `E4000` ("Unknown error 4000", glibc's text).

use std::{
    collections::HashMap,
    sync::{Mutex, OnceLock},
};

/// Kernel-internal restart codes a blocked call returns when a signal interrupts it (not in errno tables), with
/// strace's texts.
pub fn restart_code(errno: i64) -> Option<(&'static str, &'static str)> {
    match errno {
        512 => Some(("ERESTARTSYS", "To be restarted if SA_RESTART is set")),
        513 => Some(("ERESTARTNOINTR", "To be restarted")),
        514 => Some(("ERESTARTNOHAND", "To be restarted if no handler")),
        515 => Some(("ENOIOCTLCMD", "No ioctl command")),
        516 => Some(("ERESTART_RESTARTBLOCK", "Interrupted by signal")),
        _ => None,
    }
}

/// `("ENOTTY", "Inappropriate ioctl for device")`: the kernel's name and, as strace prints it, glibc's text;
/// `("E4000", "Unknown error 4000")` for a number no table knows.
pub fn describe(errno: i32) -> (&'static str, &'static str) {
    restart_code(errno.into())
        .or_else(|| ::syscalls::Errno::new(errno).name().map(|name| (name, strerror(errno))))
        .unwrap_or_else(|| unknown(errno))
}

/// The name of a number a table knows (`ENOENT`, `ERESTARTSYS`); None for the others.
pub fn known_name(errno: i32) -> Option<&'static str> {
    restart_code(errno.into()).map(|(name, _)| name).or_else(|| ::syscalls::Errno::new(errno).name())
}

/// The name alone: `ENOENT`, `ERESTARTSYS`, `E4000`.
pub fn name(errno: i32) -> &'static str {
    describe(errno).0
}

/// (name, text) of a syscall's negative return; `None` for success.
pub fn of_return(ret: i64) -> Option<(&'static str, &'static str)> {
    (ret < 0).then(|| describe(i32::try_from(-ret).unwrap_or(i32::MAX)))
}

/// glibc's `strerror` text (the syscalls crate's come from kernel comments: "Not a typewriter").
fn strerror(errno: i32) -> &'static str {
    static TEXTS: OnceLock<Vec<String>> = OnceLock::new();
    let texts = TEXTS.get_or_init(|| {
        (0..256)
            .map(|n| {
                let text = std::io::Error::from_raw_os_error(n).to_string();
                text.strip_suffix(&format!(" (os error {n})")).map_or(text.clone(), str::to_string)
            })
            .collect()
    });
    usize::try_from(errno).ok().and_then(|i| texts.get(i)).map_or_else(|| unknown(errno).1, String::as_str)
}

/// The one fallback: `E{n}` and glibc's "Unknown error {n}". Each distinct number is spelled once and kept (the
/// kernel returns at most 4095 of them).
fn unknown(errno: i32) -> (&'static str, &'static str) {
    static SPELLED: OnceLock<Mutex<HashMap<i32, (&'static str, &'static str)>>> = OnceLock::new();
    let mut spelled = SPELLED.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    *spelled.entry(errno).or_insert_with(|| {
        (Box::leak(format!("E{errno}").into_boxed_str()), Box::leak(format!("Unknown error {errno}").into_boxed_str()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_texts_and_one_fallback() {
        assert_eq!(describe(libc::ENOTTY), ("ENOTTY", "Inappropriate ioctl for device"));
        assert_eq!(describe(libc::EAGAIN), ("EAGAIN", "Resource temporarily unavailable"));
        assert_eq!(describe(512), ("ERESTARTSYS", "To be restarted if SA_RESTART is set"));
        assert_eq!(describe(4000), ("E4000", "Unknown error 4000"));
        assert_eq!(name(2), "ENOENT");
        assert_eq!(of_return(-98), Some(("EADDRINUSE", "Address already in use")));
        assert_eq!(of_return(0), None);
    }
}
