//! Thread names for syscall records, which the kernel leaves out to keep the hot path short. A name changes
//! only at exec (the EXEC record carries the new one) or through PR_SET_NAME / a write to .../comm; the cache is
//! dropped every second so the latter are picked up too.

use std::{cell::RefCell, collections::HashMap, time::Instant};

use crate::{
    escape::{TextShape, push_json_name, write_name},
    procfs,
};

pub struct Comms {
    by_tid: HashMap<u32, Vec<u8>>,
    cleared: Instant,
}

impl Default for Comms {
    fn default() -> Self {
        Comms { by_tid: HashMap::new(), cleared: Instant::now() }
    }
}

impl Comms {
    pub fn get(&mut self, pid: u32, tid: u32) -> &[u8] {
        self.by_tid
            .entry(tid)
            .or_insert_with(|| procfs::thread_comm(pid, tid).or_else(|| procfs::comm(pid)).unwrap_or_default())
    }

    /// A thread exec'd: it is now the only thread, with the name the kernel reported.
    pub fn exec(&mut self, pid: u32, tid: u32, comm: &[u8]) {
        self.by_tid.remove(&tid);
        self.by_tid.insert(pid, comm.to_vec());
    }

    pub fn forget(&mut self, tid: u32) {
        self.by_tid.remove(&tid);
    }

    pub fn expire(&mut self) {
        if self.cleared.elapsed().as_secs() >= 1 {
            self.by_tid.clear();
            self.cleared = Instant::now();
        }
    }
}

/// A syscall record's `comm`: the kernel's copy when it sent one, else the cached name, looked up only when the
/// record is written as JSON (text lines do not show it).
pub struct ThreadName<'a> {
    pub sent: Option<&'a [u8]>,
    pub comms: &'a RefCell<Comms>,
    pub pid: u32,
    pub tid: u32,
}

impl TextShape for ThreadName<'_> {
    fn write_fields<M: serde::ser::SerializeMap>(&self, map: &mut M, text: &str, hex: &str) -> Result<(), M::Error> {
        match self.sent {
            Some(comm) => write_name(map, comm, text, hex),
            None => write_name(map, self.comms.borrow_mut().get(self.pid, self.tid), text, hex),
        }
    }

    fn push_json_fields(&self, out: &mut Vec<u8>, text: &str, hex: &str) {
        match self.sent {
            Some(comm) => push_json_name(out, comm, text, hex),
            None => push_json_name(out, self.comms.borrow_mut().get(self.pid, self.tid), text, hex),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::{
        escape::Text,
        output::WriteJson as _,
        records::{Call, Syscall},
    };

    /// A syscall record naming its thread by `name`, as serde writes it and as its own writer does.
    fn both_lines(name: ThreadName<'_>) -> (String, String) {
        let args = ["0x7ffe79c0b0f8".to_string()];
        let record = Syscall {
            call: Call {
                ts_ns: 1,
                pid: 2,
                start_ns: None,
                tid: 3,
                comm: Text::new(name),
                name: "read",
                nr: 0,
                args: &args,
            },
            ret: Some(0),
            errno: None,
            duration_ns: Some(4),
        };
        let mut direct = Vec::new();
        record.write_json(&mut direct);
        (String::from_utf8(direct).unwrap(), serde_json::to_string(&record).unwrap())
    }

    #[test]
    fn thread_names_written_directly_as_serde_writes_them() {
        let comms = RefCell::new(Comms::default());
        let pid = std::process::id();
        // SAFETY: gettid cannot fail.
        let tid = unsafe { libc::gettid() } as u32;
        // Sent by the kernel.
        let (direct, serde) = both_lines(ThreadName { sent: Some(b"w\"k\x01\xff"), comms: &comms, pid, tid });
        assert_eq!(direct, serde);
        assert!(direct.contains(r#""comm":"w\"k\u0001\\xff","comm_hex":"77226b01ff""#), "{direct}");
        // Looked up: this thread, renamed to a name that needs escaping and is not UTF-8.
        // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes.
        unsafe { libc::prctl(libc::PR_SET_NAME, c"lk\"up\\\x01\xfe".as_ptr()) };
        let (direct, serde) = both_lines(ThreadName { sent: None, comms: &comms, pid, tid });
        assert_eq!(direct, serde);
        assert!(direct.contains(r#""comm":"lk\"up\\\u0001\\xfe","comm_hex":"6c6b2275705c01fe""#), "{direct}");
        // Unknown: a thread that is gone (no pid is u32::MAX).
        let (direct, serde) = both_lines(ThreadName { sent: None, comms: &comms, pid: u32::MAX, tid: u32::MAX });
        assert_eq!(direct, serde);
        assert!(direct.contains(r#""comm":"","#), "{direct}");
    }
}
