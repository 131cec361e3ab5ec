//! The one ring-buffer reader every command uses: wakes on epoll through tokio's `AsyncFd` and drains the
//! buffer until it is empty before waiting again.

use std::io;

use aya::maps::{MapData, RingBuf};
use tokio::io::unix::AsyncFd;

pub struct EventReader {
    ring: AsyncFd<RingBuf<MapData>>,
}

impl EventReader {
    pub fn new(ring: RingBuf<MapData>) -> io::Result<Self> {
        // SAFETY: the ring buffer owns its fd and lives inside the AsyncFd, which deregisters it before dropping it.
        Ok(EventReader { ring: unsafe { AsyncFd::register_with_interest(ring, tokio::io::Interest::READABLE)? } })
    }

    /// Waits until records are available, then hands every record to `handle`. Cancel-safe: nothing is
    /// consumed before the wait completes.
    pub async fn next_batch(&mut self, mut handle: impl FnMut(&[u8])) -> io::Result<usize> {
        let mut guard = self.ring.readable_mut().await?;
        let count = drain(guard.get_inner_mut(), &mut handle);
        guard.clear_ready();
        Ok(count)
    }

    /// Takes whatever is in the buffer now, without waiting (used before exiting).
    pub fn drain_now(&mut self, mut handle: impl FnMut(&[u8])) -> usize {
        drain(self.ring.get_mut(), &mut handle)
    }
}

fn drain(ring: &mut RingBuf<MapData>, handle: &mut impl FnMut(&[u8])) -> usize {
    let mut count = 0;
    while let Some(item) = ring.next() {
        handle(&item);
        count += 1;
    }
    count
}
