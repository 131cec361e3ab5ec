//! Thread names for syscall records, which the kernel leaves out to keep the hot path short. A name changes
//! only at exec (the EXEC record carries the new one) or through PR_SET_NAME / a write to .../comm; the cache is
//! dropped every second so the latter are picked up too.

use std::{cell::RefCell, collections::HashMap, time::Instant};

use crate::{
    escape::{TextShape, write_name},
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
}
