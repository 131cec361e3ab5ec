//! The one ring-buffer reader every command uses: wakes on epoll through tokio's `AsyncFd` and drains the
//! buffer until it is empty before waiting again.
//!
//! The ring is read through its own mappings rather than aya's `RingBuf`, which publishes the consumer position
//! after every record: each store moves that cache line to the reader's CPU, and the kernel's next reservation,
//! which reads it on the traced task's CPU, pays a cache miss at every traced call (bench/README.md, issue 22).
//! Here the position is published every `PUBLISH_EVERY` bytes and when the ring is empty, so a flood of records
//! costs the producers one miss per batch. Layout and protocol are the kernel's (`kernel/bpf/ringbuf.c`, stable
//! ABI since 5.8): one read-write page with the consumer position, then one read-only page with the producer
//! position followed by the data pages mapped twice, each record an 8-byte header (length with busy and discard
//! bits, page offset) and its data, rounded up to 8 bytes.

use std::{
    io,
    os::fd::{AsFd, AsRawFd, BorrowedFd},
    ptr::NonNull,
    sync::atomic::{AtomicU32, AtomicUsize, Ordering, fence},
};

use aya::maps::{Map, MapData};
use tokio::io::unix::AsyncFd;

/// `BPF_RINGBUF_BUSY_BIT`, `BPF_RINGBUF_DISCARD_BIT`, `BPF_RINGBUF_HDR_SZ` (uapi `linux/bpf.h`).
const BUSY_BIT: u32 = 1 << 31;
const DISCARD_BIT: u32 = 1 << 30;
const HEADER_SIZE: usize = 8;

/// How many consumed bytes the reader keeps unpublished at most: small next to any ring `--buffer-size` accepts
/// (a producer sees that much less free room), large enough that a flood's records cost one published position
/// per few hundred.
const PUBLISH_EVERY: usize = 16 << 10;

/// One shared mapping, unmapped on drop.
struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

impl Mapping {
    fn new(fd: BorrowedFd<'_>, len: usize, prot: libc::c_int, offset: usize) -> io::Result<Mapping> {
        // SAFETY: a fresh shared mapping of the map's fd; the kernel checks the length, offset and protection.
        let ptr = unsafe {
            libc::mmap(std::ptr::null_mut(), len, prot, libc::MAP_SHARED, fd.as_raw_fd(), offset as libc::off_t)
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(ptr.cast()).ok_or_else(|| io::Error::other("mmap returned NULL"))?;
        Ok(Mapping { ptr, len })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: mapped in `new` with this length, and no reference into it outlives the ring.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// A BPF ring buffer map, read in place.
pub struct Ring {
    map: MapData,
    consumer: Mapping,
    producer: Mapping,
    page_size: usize,
    mask: usize,
    /// Where this reader is: records before it are handed out.
    position: usize,
    /// What the kernel was last told (`consumer_pos`).
    published: usize,
    /// The producer position last read: records before it are committed or busy.
    produced: usize,
}

// SAFETY: the mappings are owned by the ring and only read (or, for the consumer page, written) through it.
unsafe impl Send for Ring {}

impl Ring {
    pub fn new(map: Map) -> io::Result<Ring> {
        let Map::RingBuf(map) = map else {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "EVENTS is not a ring buffer map"));
        };
        let size = map.info().map_err(io::Error::other)?.max_entries() as usize;
        if !size.is_power_of_two() {
            return Err(io::Error::other(format!("ring buffer size {size} is not a power of two")));
        }
        // SAFETY: sysconf has no preconditions.
        let page_size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        let fd = map.fd().as_fd();
        let consumer = Mapping::new(fd, page_size, libc::PROT_READ | libc::PROT_WRITE, 0)?;
        // The data pages twice: a record that wraps past the end reads on in the second copy.
        let producer = Mapping::new(fd, page_size + 2 * size, libc::PROT_READ, page_size)?;
        let mut ring =
            Ring { map, consumer, producer, page_size, mask: size - 1, position: 0, published: 0, produced: 0 };
        ring.position = ring.consumer_pos().load(Ordering::Acquire);
        ring.published = ring.position;
        ring.produced = ring.position;
        Ok(ring)
    }

    fn consumer_pos(&self) -> &AtomicUsize {
        // SAFETY: the consumer page starts with the kernel's `unsigned long consumer_pos`, aligned.
        unsafe { self.consumer.ptr.cast::<AtomicUsize>().as_ref() }
    }

    fn producer_pos(&self) -> usize {
        // SAFETY: the producer page starts with `producer_pos`, stored with release by the kernel after the
        // record's header is written.
        unsafe { self.producer.ptr.cast::<AtomicUsize>().as_ref() }.load(Ordering::Acquire)
    }

    fn publish(&mut self) {
        if self.published != self.position {
            // Release: the records' bytes are read before the kernel may reuse their room.
            self.consumer_pos().store(self.position, Ordering::Release);
            self.published = self.position;
        }
    }

    /// Hands every committed record to `handle`, in order, until the ring is empty or the next record is still
    /// being written (its producer's commit comes with or before the next wakeup or drain).
    pub fn drain(&mut self, handle: &mut impl FnMut(&[u8])) -> usize {
        let mut count = 0;
        loop {
            if self.position == self.produced {
                self.produced = self.producer_pos();
                if self.position == self.produced {
                    self.publish();
                    // As the kernel's own consumer does: either the producer sees the published position or this
                    // reader sees its record.
                    fence(Ordering::SeqCst);
                    self.produced = self.producer_pos();
                    if self.position == self.produced {
                        return count;
                    }
                }
            }
            let offset = self.position & self.mask;
            // SAFETY: offset < size, and the data mapping is 2 * size long after the producer page, so the header
            // and any record (at most size bytes) are inside it.
            let data = unsafe { self.producer.ptr.as_ptr().add(self.page_size + offset) };
            // SAFETY: headers are 8-byte aligned u32s; the kernel commits with a full barrier (xchg), paired here.
            let header = unsafe { &*data.cast::<AtomicU32>() }.load(Ordering::Acquire);
            if header & BUSY_BIT != 0 {
                self.publish();
                return count;
            }
            let len = (header & !(BUSY_BIT | DISCARD_BIT)) as usize;
            if header & DISCARD_BIT == 0 {
                // SAFETY: committed, so its `len` bytes after the header are written and stay until published.
                let record = unsafe { std::slice::from_raw_parts(data.add(HEADER_SIZE), len.min(self.mask + 1)) };
                handle(record);
                count += 1;
            }
            self.position += (HEADER_SIZE + len).next_multiple_of(8);
            if self.position.wrapping_sub(self.published) >= PUBLISH_EVERY {
                self.publish();
            }
        }
    }
}

impl AsRawFd for Ring {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.as_fd().as_raw_fd()
    }
}

impl AsFd for Ring {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.map.fd().as_fd()
    }
}

pub struct EventReader {
    ring: AsyncFd<Ring>,
}

impl EventReader {
    pub fn new(map: Map) -> io::Result<Self> {
        let ring = Ring::new(map)?;
        // SAFETY: the ring owns its fd and lives inside the AsyncFd, which deregisters it before dropping it.
        Ok(EventReader { ring: unsafe { AsyncFd::register_with_interest(ring, tokio::io::Interest::READABLE)? } })
    }

    /// Waits until records are available, then hands every record to `handle`. Cancel-safe: nothing is
    /// consumed before the wait completes.
    pub async fn next_batch(&mut self, mut handle: impl FnMut(&[u8])) -> io::Result<usize> {
        let mut guard = self.ring.readable_mut().await?;
        let count = guard.get_inner_mut().drain(&mut handle);
        guard.clear_ready();
        Ok(count)
    }

    /// Takes whatever is in the buffer now, without waiting (used before exiting).
    pub fn drain_now(&mut self, mut handle: impl FnMut(&[u8])) -> usize {
        self.ring.get_mut().drain(&mut handle)
    }
}
