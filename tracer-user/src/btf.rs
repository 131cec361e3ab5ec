//! A small reader of the kernel's BTF (`/sys/kernel/btf/vmlinux`), just enough to find the byte offsets of kernel
//! struct members.
//!
//! aya-ebpf does not emit CO-RE relocations, so the eBPF programs cannot have the loader patch field offsets for
//! them. Instead user space looks the offsets up here at start-up and hands them to the programs as globals. The
//! `btf-rs` crate would do this too, but it is LGPL, hence this dependency-free reader.
//!
//! Format: <https://docs.kernel.org/bpf/btf.html>. The data is a header, a type section and a string section. Type
//! records have variable length, so `parse` walks them once and remembers where each type id starts; lookups by
//! name then scan that index (a few milliseconds), which is cheaper than building a name map of every type for the
//! handful of lookups done at start-up.
//!
//! Every read is bounds-checked: malformed input gives an error, never a panic.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use anyhow::Context as _;

const SYS_FS_PATH: &str = "/sys/kernel/btf/vmlinux";
const BTF_MAGIC: u16 = 0xeb9f;
/// Size of `struct btf_header` in its first version; newer kernels may append fields, announced by `hdr_len`.
const HEADER_MIN_LEN: usize = 24;
/// `struct btf_type`: name_off, info, size/type.
const TYPE_HEADER_LEN: usize = 12;
/// `struct btf_member`: name_off, type, offset.
const MEMBER_LEN: usize = 12;

// Kinds, from include/uapi/linux/btf.h.
const KIND_INT: u32 = 1;
const KIND_PTR: u32 = 2;
const KIND_ARRAY: u32 = 3;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_ENUM: u32 = 6;
const KIND_FWD: u32 = 7;
const KIND_TYPEDEF: u32 = 8;
const KIND_VOLATILE: u32 = 9;
const KIND_CONST: u32 = 10;
const KIND_RESTRICT: u32 = 11;
const KIND_FUNC: u32 = 12;
const KIND_FUNC_PROTO: u32 = 13;
const KIND_VAR: u32 = 14;
const KIND_DATASEC: u32 = 15;
const KIND_FLOAT: u32 = 16;
const KIND_DECL_TAG: u32 = 17;
const KIND_TYPE_TAG: u32 = 18;
const KIND_ENUM64: u32 = 19;

/// How many typedef/modifier links or nested anonymous members to follow. Real kernels need a handful; the limit
/// only exists so that cyclic references in corrupt data end in an error instead of a hang or stack overflow.
const MAX_DEPTH: u32 = 64;

#[derive(Debug, thiserror::Error)]
pub enum BtfError {
    #[error("cannot read {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("not BTF data: magic is {0:#06x}, expected 0xeb9f")]
    BadMagic(u16),
    #[error("BTF data is truncated ({0})")]
    Truncated(&'static str),
    #[error("BTF data is malformed: {0}")]
    Malformed(String),
    #[error("BTF type id {type_id} has kind {kind}, which this reader does not know (kernel newer than the tracer?)")]
    UnknownKind { type_id: u32, kind: u32 },
    #[error("kernel BTF has no struct or union named `{0}`")]
    NoSuchStruct(String),
    #[error("kernel struct `{struct_name}` has no member `{member}`")]
    NoSuchMember { struct_name: String, member: String },
    #[error(
        "`{struct_name}.{member}` is a bitfield ({bits} bits at bit {bit_offset}) that cannot be read as whole bytes"
    )]
    Bitfield { struct_name: String, member: String, bit_offset: u64, bits: u32 },
}

/// A struct member as eBPF code needs it to read the field with `bpf_probe_read_kernel`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Byte offset from the start of the struct that was asked for (members of anonymous structs/unions are
    /// flattened into it, as in C).
    pub offset: u32,
    /// Size in bytes after looking through typedefs and const/volatile qualifiers; pointers have the host's pointer
    /// size; a byte-aligned bitfield of 8/16/... bits has its bit count / 8.
    pub size: u32,
    /// For a struct/union member or a pointer to one: that struct's name (e.g. `task_struct` for
    /// `task_struct.real_parent`), so lookups can be chained. `None` for other types and anonymous structs.
    pub type_name: Option<String>,
    /// Whether the member is a pointer (chain by reading it and following) rather than an embedded struct (chain by
    /// adding offsets).
    pub is_pointer: bool,
}

/// The raw BTF: the kernel's own pages mapped read-only, or a copy.
enum Bytes {
    Owned(Vec<u8>),
    /// `mmap` of /sys/kernel/btf/vmlinux (Linux 6.16+): no copy of its 5 MB, which `read` spends half the parse on.
    Mapped {
        ptr: *const u8,
        len: usize,
    },
}

// SAFETY: the mapping is read-only, never written through, and unmapped only on drop.
unsafe impl Send for Bytes {}
unsafe impl Sync for Bytes {}

impl std::ops::Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Owned(v) => v,
            // SAFETY: `ptr` maps `len` readable bytes for as long as `self` lives.
            Bytes::Mapped { ptr, len } => unsafe { std::slice::from_raw_parts(*ptr, *len) },
        }
    }
}

impl Drop for Bytes {
    fn drop(&mut self) {
        if let Bytes::Mapped { ptr, len } = *self {
            // SAFETY: the mapping made in `map_file`, unmapped once.
            unsafe { libc::munmap(ptr as *mut libc::c_void, len) };
        }
    }
}

/// Maps `path` read-only; `None` when the file system does not allow it (sysfs before 6.16) or it is empty.
fn map_file(path: &Path) -> Option<Bytes> {
    use std::os::fd::AsRawFd as _;
    let file = std::fs::File::open(path).ok()?;
    let len = usize::try_from(file.metadata().ok()?.len()).ok().filter(|&len| len > 0)?;
    // SAFETY: a fresh read-only private mapping of an open file; the fd may be closed once it exists.
    let ptr = unsafe { libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_PRIVATE, file.as_raw_fd(), 0) };
    (ptr != libc::MAP_FAILED).then_some(Bytes::Mapped { ptr: ptr as *const u8, len })
}

/// Parsed BTF data. Keeps the raw bytes and an index of where each type record starts.
pub struct Btf {
    data: Bytes,
    big_endian: bool,
    str_start: usize,
    str_end: usize,
    /// Byte offset in `data` of each type's record, indexed by type id. Entry 0 (void) is a placeholder.
    type_pos: Vec<u32>,
}

/// The running kernel's BTF once parsed, until [`release_kernel_btf`].
static KERNEL: Mutex<Option<Arc<Btf>>> = Mutex::new(None);

/// The running kernel's BTF, parsed the first time it is asked for (about 5 ms) and kept until the programs are
/// loaded ([`release_kernel_btf`]): every probe family's layout reads its offsets from it.
pub fn kernel_btf() -> anyhow::Result<Arc<Btf>> {
    let mut kernel = KERNEL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(btf) = &*kernel {
        return Ok(btf.clone());
    }
    let btf = Arc::new(Btf::from_sys_fs().context("reading kernel BTF")?);
    *kernel = Some(btf.clone());
    Ok(btf)
}

/// Forgets the kernel's BTF: once the programs are loaded nothing reads it, and it would stay resident for as
/// long as tracer runs (its index of every type, a few hundred KiB; and before Linux 6.16, which cannot map it,
/// a copy of the whole file, 5 MB or more). A later `kernel_btf` parses it again.
pub fn release_kernel_btf() {
    KERNEL.lock().unwrap_or_else(|e| e.into_inner()).take();
}

/// The fixed part of a type record.
#[derive(Debug, Clone, Copy)]
struct Type {
    id: u32,
    name_off: u32,
    info: u32,
    /// `size` for INT/STRUCT/UNION/ENUM/FLOAT, the referenced type id for PTR/TYPEDEF/qualifiers.
    size_or_type: u32,
    /// Byte offset in `data` of the kind-specific data that follows the fixed part.
    extra: usize,
}

impl Type {
    /// Type id 0 is void; it has no record, and its kind (0) matches no real kind.
    const VOID: Type = Type { id: 0, name_off: 0, info: 0, size_or_type: 0, extra: 0 };

    fn kind(&self) -> u32 {
        (self.info >> 24) & 0x1f
    }

    fn vlen(&self) -> usize {
        (self.info & 0xffff) as usize
    }

    fn kflag(&self) -> bool {
        self.info >> 31 == 1
    }

    fn is_composite(&self) -> bool {
        matches!(self.kind(), KIND_STRUCT | KIND_UNION)
    }
}

/// Where a member was found: absolute bit offset within the outermost struct, bitfield width (0 if not a bitfield,
/// as far as the member record says) and the member's type id.
struct Found {
    bit_offset: u64,
    bitfield_bits: u32,
    type_id: u32,
}

impl Btf {
    /// Reads and parses the running kernel's BTF.
    pub fn from_sys_fs() -> Result<Btf, BtfError> {
        let path = Path::new(SYS_FS_PATH);
        if let Some(mapped) = map_file(path) {
            return Btf::from_bytes(mapped);
        }
        let data = std::fs::read(path).map_err(|source| BtfError::Io { path: path.to_owned(), source })?;
        Btf::from_vec(data)
    }

    /// Parses BTF data (a copy of `bytes` is kept).
    #[cfg_attr(not(test), allow(dead_code, reason = "used by tests and by BTF from files"))]
    pub fn parse(bytes: &[u8]) -> Result<Btf, BtfError> {
        Btf::from_vec(bytes.to_vec())
    }

    fn from_vec(data: Vec<u8>) -> Result<Btf, BtfError> {
        Btf::from_bytes(Bytes::Owned(data))
    }

    fn from_bytes(data: Bytes) -> Result<Btf, BtfError> {
        if data.len() < HEADER_MIN_LEN {
            return Err(BtfError::Truncated("header"));
        }
        // The magic tells the byte order: BTF is written in the byte order of the machine it describes.
        let big_endian = match u16::from_le_bytes([data[0], data[1]]) {
            BTF_MAGIC => false,
            m if m == BTF_MAGIC.swap_bytes() => true,
            m => return Err(BtfError::BadMagic(m)),
        };
        if u32::try_from(data.len()).is_err() {
            return Err(BtfError::Malformed("larger than 4 GiB".into()));
        }
        let mut btf = Btf { data, big_endian, str_start: 0, str_end: 0, type_pos: Vec::new() };

        let hdr_len = btf.u32_at(4)? as usize;
        if hdr_len < HEADER_MIN_LEN {
            return Err(BtfError::Malformed(format!("header length {hdr_len} < {HEADER_MIN_LEN}")));
        }
        let section = |off: usize, len: usize, what: &'static str| -> Result<(usize, usize), BtfError> {
            let start = hdr_len.checked_add(btf.u32_at(off)? as usize).ok_or(BtfError::Truncated(what))?;
            let end = start.checked_add(btf.u32_at(len)? as usize).ok_or(BtfError::Truncated(what))?;
            if end > btf.data.len() {
                return Err(BtfError::Truncated(what));
            }
            Ok((start, end))
        };
        let (type_start, type_end) = section(8, 12, "type section")?;
        let (str_start, str_end) = section(16, 20, "string section")?;
        btf.str_start = str_start;
        btf.str_end = str_end;
        btf.index_types(type_start, type_end)?;
        Ok(btf)
    }

    /// Walks the type section once, recording where each record starts; records have kind-dependent lengths, so
    /// this is the only way to find type N.
    fn index_types(&mut self, start: usize, end: usize) -> Result<(), BtfError> {
        // vmlinux has ~130k types of ~40 bytes on average; the guess avoids most reallocations.
        let mut type_pos = Vec::with_capacity((end - start) / 32 + 1);
        type_pos.push(0);
        let mut pos = start;
        while pos < end {
            if end - pos < TYPE_HEADER_LEN {
                return Err(BtfError::Truncated("type record"));
            }
            let type_id = type_pos.len() as u32;
            let ty = self.type_at(type_id, pos)?;
            let vlen = ty.vlen();
            let extra_len = match ty.kind() {
                KIND_PTR | KIND_FWD | KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_FUNC
                | KIND_FLOAT | KIND_TYPE_TAG => 0,
                KIND_INT | KIND_VAR | KIND_DECL_TAG => 4,
                KIND_ARRAY => 12,
                KIND_STRUCT | KIND_UNION => MEMBER_LEN * vlen,
                KIND_ENUM | KIND_FUNC_PROTO => 8 * vlen,
                KIND_DATASEC | KIND_ENUM64 => 12 * vlen,
                kind => return Err(BtfError::UnknownKind { type_id, kind }),
            };
            let next = ty.extra + extra_len;
            if next > end {
                return Err(BtfError::Truncated("type record"));
            }
            type_pos.push(pos as u32);
            pos = next;
        }
        self.type_pos = type_pos;
        Ok(())
    }

    /// Byte offset of `member` in struct (or union) `struct_name`; see [`Btf::member`].
    pub fn member_offset(&self, struct_name: &str, member: &str) -> Result<u32, BtfError> {
        Ok(self.member(struct_name, member)?.offset)
    }

    /// Size in bytes of struct (or union) `name`.
    #[cfg_attr(not(test), allow(dead_code, reason = "layout checks of future probes"))]
    pub fn struct_size(&self, name: &str) -> Result<u32, BtfError> {
        Ok(self.find_composite(name)?.size_or_type)
    }

    /// Looks up `member` of struct (or union) `struct_name`, searching inside anonymous struct/union members too.
    pub fn member(&self, struct_name: &str, member: &str) -> Result<Member, BtfError> {
        let outer = self.find_composite(struct_name)?;
        let found = self
            .find_member(outer, member.as_bytes(), 0, 0)?
            .ok_or_else(|| BtfError::NoSuchMember { struct_name: struct_name.to_owned(), member: member.to_owned() })?;
        let ty = self.resolve(found.type_id)?;

        let mut bit_offset = found.bit_offset;
        let mut bits = found.bitfield_bits;
        // Without kflag on the struct, a bitfield is encoded in its INT type instead: fewer bits than the int's
        // size and/or a bit offset of its own.
        if bits == 0 && ty.kind() == KIND_INT {
            let encoding = self.u32_at(ty.extra)?;
            let int_bits = encoding & 0xff;
            let int_offset = (encoding >> 16) & 0xff;
            if int_offset != 0 || u64::from(int_bits) != u64::from(ty.size_or_type) * 8 {
                bit_offset += u64::from(int_offset);
                bits = int_bits;
            }
        }
        if bit_offset % 8 != 0 || bits % 8 != 0 {
            return Err(BtfError::Bitfield {
                struct_name: struct_name.to_owned(),
                member: member.to_owned(),
                bit_offset,
                bits,
            });
        }
        let offset = u32::try_from(bit_offset / 8)
            .map_err(|_| BtfError::Malformed(format!("offset of {struct_name}.{member} overflows")))?;
        let size = if bits != 0 { bits / 8 } else { self.size_of(ty)? };

        let is_pointer = ty.kind() == KIND_PTR;
        let target = if is_pointer { self.resolve(ty.size_or_type)? } else { ty };
        let type_name = if target.is_composite() || target.kind() == KIND_FWD {
            let name = self.name(target.name_off)?;
            (!name.is_empty()).then(|| String::from_utf8_lossy(name).into_owned())
        } else {
            None
        };
        Ok(Member { offset, size, type_name, is_pointer })
    }

    /// Byte offset of a member reached through embedded members, `ctrl.pgrp` style (`tty_struct.ctrl.pgrp` on 5.17+,
    /// where `ctrl` is an embedded anonymous-typed struct); one name is [`Btf::member_offset`].
    pub fn member_path_offset(&self, struct_name: &str, path: &str) -> Result<u32, BtfError> {
        let mut composite = self.find_composite(struct_name)?;
        let mut bit_offset = 0;
        let missing = || BtfError::NoSuchMember { struct_name: struct_name.to_owned(), member: path.to_owned() };
        let mut names = path.split('.').peekable();
        while let Some(name) = names.next() {
            let found = self.find_member(composite, name.as_bytes(), bit_offset, 0)?.ok_or_else(missing)?;
            bit_offset = found.bit_offset;
            if names.peek().is_some() {
                composite = self.resolve(found.type_id)?;
                if !composite.is_composite() {
                    return Err(missing());
                }
            }
        }
        u32::try_from(bit_offset / 8)
            .map_err(|_| BtfError::Malformed(format!("offset of {struct_name}.{path} overflows")))
    }

    /// First STRUCT or UNION with this name. Forward declarations have their own kind, so they are skipped; vmlinux
    /// BTF is deduplicated, so there is one definition per name in practice.
    fn find_composite(&self, name: &str) -> Result<Type, BtfError> {
        for (id, &pos) in self.type_pos.iter().enumerate().skip(1) {
            let ty = self.type_at(id as u32, pos as usize)?;
            if ty.is_composite() && ty.name_off != 0 && self.name(ty.name_off)? == name.as_bytes() {
                return Ok(ty);
            }
        }
        Err(BtfError::NoSuchStruct(name.to_owned()))
    }

    /// Searches the members of `composite` (at bit `base` of the outermost struct), descending into anonymous
    /// struct/union members, as C name lookup does.
    fn find_member(&self, composite: Type, name: &[u8], base: u64, depth: u32) -> Result<Option<Found>, BtfError> {
        if depth > MAX_DEPTH {
            return Err(BtfError::Malformed("anonymous members nested too deeply (cycle?)".into()));
        }
        for i in 0..composite.vlen() {
            let rec = composite.extra + i * MEMBER_LEN;
            let name_off = self.u32_at(rec)?;
            let type_id = self.u32_at(rec + 4)?;
            let raw_offset = self.u32_at(rec + 8)?;
            // With kflag the offset field packs the bitfield width into its top 8 bits.
            let (bit_offset, bitfield_bits) =
                if composite.kflag() { (raw_offset & 0xff_ffff, raw_offset >> 24) } else { (raw_offset, 0) };
            let bit_offset = base + u64::from(bit_offset);
            let member_name = self.name(name_off)?;
            if member_name == name {
                return Ok(Some(Found { bit_offset, bitfield_bits, type_id }));
            }
            if member_name.is_empty() {
                let inner = self.resolve(type_id)?;
                if inner.is_composite()
                    && let Some(found) = self.find_member(inner, name, bit_offset, depth + 1)?
                {
                    return Ok(Some(found));
                }
            }
        }
        Ok(None)
    }

    /// Follows typedefs and qualifiers (const, volatile, restrict, type tags) to the underlying type.
    fn resolve(&self, mut id: u32) -> Result<Type, BtfError> {
        for _ in 0..MAX_DEPTH {
            let ty = self.type_by_id(id)?;
            match ty.kind() {
                KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG => id = ty.size_or_type,
                _ => return Ok(ty),
            }
        }
        Err(BtfError::Malformed(format!("type chain from id {id} too long (cycle?)")))
    }

    /// Size in bytes of a resolved type; 0 for types without one (void, functions, forward declarations).
    fn size_of(&self, ty: Type) -> Result<u32, BtfError> {
        let mut ty = ty;
        let mut count: u32 = 1;
        // Arrays of arrays: multiply the element counts down to the element type.
        for _ in 0..MAX_DEPTH {
            let elem_size = match ty.kind() {
                KIND_INT | KIND_STRUCT | KIND_UNION | KIND_ENUM | KIND_ENUM64 | KIND_FLOAT => ty.size_or_type,
                // BTF does not record pointer sizes. /sys/kernel/btf describes the running kernel, whose pointers
                // are as wide as ours (a 64-bit tracer on a 64-bit kernel).
                KIND_PTR => size_of::<usize>() as u32,
                KIND_ARRAY => {
                    let elem_type = self.u32_at(ty.extra)?;
                    let nelems = self.u32_at(ty.extra + 8)?;
                    count = count.checked_mul(nelems).ok_or_else(|| overflow(ty.id))?;
                    ty = self.resolve(elem_type)?;
                    continue;
                }
                _ => 0,
            };
            return count.checked_mul(elem_size).ok_or_else(|| overflow(ty.id));
        }
        Err(BtfError::Malformed(format!("array type {} nested too deeply", ty.id)))
    }

    fn type_by_id(&self, id: u32) -> Result<Type, BtfError> {
        if id == 0 {
            return Ok(Type::VOID);
        }
        let pos = *self
            .type_pos
            .get(id as usize)
            .ok_or_else(|| BtfError::Malformed(format!("reference to type id {id}, which does not exist")))?;
        self.type_at(id, pos as usize)
    }

    fn type_at(&self, id: u32, pos: usize) -> Result<Type, BtfError> {
        Ok(Type {
            id,
            name_off: self.u32_at(pos)?,
            info: self.u32_at(pos + 4)?,
            size_or_type: self.u32_at(pos + 8)?,
            extra: pos + TYPE_HEADER_LEN,
        })
    }

    /// The NUL-terminated string at `offset` in the string section, without the NUL. Offset 0 is the empty string.
    fn name(&self, offset: u32) -> Result<&[u8], BtfError> {
        let start = self.str_start + offset as usize;
        let section = self
            .data
            .get(start..self.str_end)
            .ok_or_else(|| BtfError::Malformed(format!("string offset {offset} outside the string section")))?;
        let len = section.iter().position(|&b| b == 0).ok_or(BtfError::Truncated("string section"))?;
        Ok(&section[..len])
    }

    fn u32_at(&self, pos: usize) -> Result<u32, BtfError> {
        let bytes: [u8; 4] = pos
            .checked_add(4)
            .and_then(|end| self.data.get(pos..end))
            .and_then(|b| b.try_into().ok())
            .ok_or(BtfError::Truncated("read past the end"))?;
        Ok(if self.big_endian { u32::from_be_bytes(bytes) } else { u32::from_le_bytes(bytes) })
    }
}

fn overflow(type_id: u32) -> BtfError {
    BtfError::Malformed(format!("size of type id {type_id} overflows"))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Observed with `bpftool btf dump file /sys/kernel/btf/vmlinux format raw` on the development machine
    // (kernel 6.18.44, 126,610 types), for reference only; offsets vary with kernel version and config, so the
    // tests check relations that hold everywhere instead:
    //   [114] STRUCT 'task_struct' size=3264 vlen=248
    //     'exit_code'   type_id=21 (int)          bits_offset=9312  -> byte 1164
    //     'pid'         type_id=68 (pid_t)        bits_offset=10112 -> byte 1264
    //     'tgid'        type_id=68 (pid_t)        bits_offset=10144 -> byte 1268
    //     'real_parent' type_id=115 (task_struct *) bits_offset=10240 -> byte 1280
    //     'comm'        type_id=334 (char[16])    bits_offset=14016 -> byte 1752
    //     'signal'      type_id=542 (signal_struct *) bits_offset=14784 -> byte 1848
    //   [541] STRUCT 'signal_struct' size=1144: 'live' (atomic_t) bits_offset=32 -> byte 4
    //   [718] STRUCT 'file' size=184: anon union at bit 512 holding 'f_path' (const struct path) -> byte 64
    //   [873] STRUCT 'sk_buff' size=224: 'cloned' bits_offset=1008 bitfield_size=1

    fn vmlinux() -> Btf {
        Btf::from_sys_fs().expect("kernel BTF at /sys/kernel/btf/vmlinux")
    }

    #[test]
    fn kernel_btf_is_parsed_once_until_released() {
        let first = kernel_btf().unwrap();
        assert!(Arc::ptr_eq(&first, &kernel_btf().unwrap()));
        assert!(first.member_offset("task_struct", "pid").is_ok());
        release_kernel_btf();
        let again = kernel_btf().unwrap();
        assert!(!Arc::ptr_eq(&first, &again), "parsed again after the release");
        assert_eq!(
            again.member_offset("task_struct", "pid").unwrap(),
            first.member_offset("task_struct", "pid").unwrap()
        );
    }

    #[test]
    fn task_struct_members() {
        let btf = vmlinux();
        let pid = btf.member("task_struct", "pid").unwrap();
        let tgid = btf.member("task_struct", "tgid").unwrap();
        assert_eq!((pid.size, tgid.size), (4, 4));
        assert_eq!(pid.offset + 4, tgid.offset);
        assert_eq!(btf.member_offset("task_struct", "pid").unwrap(), pid.offset);
        assert_eq!(pid.type_name, None);

        let exit_code = btf.member("task_struct", "exit_code").unwrap();
        assert_eq!(exit_code.size, 4);
        assert!(!exit_code.is_pointer);

        let parent = btf.member("task_struct", "real_parent").unwrap();
        assert_eq!(parent.type_name.as_deref(), Some("task_struct"));
        assert!(parent.is_pointer);
        assert_eq!(parent.size, 8);

        let comm = btf.member("task_struct", "comm").unwrap();
        assert_eq!(comm.size, 16);

        let size = btf.struct_size("task_struct").unwrap();
        assert!(size > tgid.offset && size > comm.offset + comm.size);
    }

    #[test]
    fn chained_lookup() {
        let btf = vmlinux();
        let signal = btf.member("task_struct", "signal").unwrap();
        assert!(signal.is_pointer);
        let name = signal.type_name.unwrap();
        assert_eq!(name, "signal_struct");
        // atomic_t is a typedef of an anonymous struct { int counter; }.
        let live = btf.member(&name, "live").unwrap();
        assert_eq!(live.size, 4);
        assert_eq!(live.type_name, None);
    }

    #[test]
    fn members_of_anonymous_unions() {
        let btf = vmlinux();
        // `struct file { ... union { const struct path f_path; struct path __f_path; }; ... }`.
        let f_path = btf.member("file", "f_path").unwrap();
        assert_eq!(f_path.type_name.as_deref(), Some("path"));
        assert!(!f_path.is_pointer);
        assert_eq!(f_path.size, btf.struct_size("path").unwrap());
        assert!(f_path.offset > 0);
        // sk_buff: union { struct { next, prev, union { dev, ... } }, ... } at offset 0.
        assert_eq!(btf.member_offset("sk_buff", "next").unwrap(), 0);
        let dev = btf.member("sk_buff", "dev").unwrap();
        assert_eq!(dev.offset, 16);
        assert_eq!(dev.type_name.as_deref(), Some("net_device"));
    }

    #[test]
    fn mapped_and_read_agree() {
        let mapped = Btf::from_sys_fs().unwrap();
        let read = Btf::parse(&std::fs::read(SYS_FS_PATH).unwrap()).unwrap();
        assert_eq!(*mapped.data, *read.data);
        assert_eq!(mapped.type_pos, read.type_pos);
        for (st, member) in [("task_struct", "tgid"), ("file", "f_path"), ("sock", "__sk_common")] {
            assert_eq!(mapped.member(st, member).unwrap(), read.member(st, member).unwrap());
        }
    }

    #[test]
    fn lookup_errors() {
        let btf = vmlinux();
        assert!(matches!(btf.member("no_such_struct_xyz", "x"), Err(BtfError::NoSuchStruct(_))));
        assert!(matches!(btf.member("task_struct", "no_such_member"), Err(BtfError::NoSuchMember { .. })));
        assert!(matches!(btf.member("sk_buff", "cloned"), Err(BtfError::Bitfield { bits: 1, .. })));
        assert!(matches!(btf.struct_size("no_such_struct_xyz"), Err(BtfError::NoSuchStruct(_))));
    }

    #[test]
    fn truncated_and_garbage_input_is_an_error() {
        let real = std::fs::read(SYS_FS_PATH).unwrap();
        for len in (0..64).chain([real.len() / 3, real.len() / 2, real.len() - 1]) {
            assert!(Btf::parse(&real[..len]).is_err(), "truncated at {len}");
        }
        assert!(matches!(Btf::parse(b"not btf at all, but long enough"), Err(BtfError::BadMagic(_))));
        let mut bad_header = real[..64].to_vec();
        bad_header[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(Btf::parse(&bad_header).is_err());
    }

    /// Hand-built BTF for cases the running kernel may not exercise.
    struct Builder {
        types: Vec<u8>,
        strings: Vec<u8>,
    }

    impl Builder {
        fn new() -> Self {
            Builder { types: Vec::new(), strings: vec![0] }
        }

        fn str(&mut self, s: &str) -> u32 {
            if s.is_empty() {
                return 0;
            }
            let off = self.strings.len() as u32;
            self.strings.extend_from_slice(s.as_bytes());
            self.strings.push(0);
            off
        }

        fn words(&mut self, words: &[u32]) {
            for w in words {
                self.types.extend_from_slice(&w.to_le_bytes());
            }
        }

        fn ty(&mut self, name: &str, kind: u32, kflag: bool, vlen: u32, size_or_type: u32) {
            let name = self.str(name);
            self.words(&[name, (u32::from(kflag) << 31) | (kind << 24) | vlen, size_or_type]);
        }

        fn member(&mut self, name: &str, type_id: u32, offset: u32) {
            let name = self.str(name);
            self.words(&[name, type_id, offset]);
        }

        fn build(&self) -> Vec<u8> {
            let mut out = Vec::new();
            for w in [0x0001_eb9f_u32, 24, 0, self.types.len() as u32, self.types.len() as u32] {
                out.extend_from_slice(&w.to_le_bytes());
            }
            out.extend_from_slice(&(self.strings.len() as u32).to_le_bytes());
            out.extend_from_slice(&self.types);
            out.extend_from_slice(&self.strings);
            out
        }
    }

    /// `struct outer` (kflag set) with qualified, pointer, array, bitfield and anonymous-union members, and
    /// `struct old` (kflag clear) whose bitfield is encoded in its INT type. Type ids are in the comments.
    fn sample() -> Vec<u8> {
        let mut b = Builder::new();
        b.ty("int", KIND_INT, false, 0, 4); // 1
        b.words(&[(1 << 24) | 32]);
        b.ty("u32", KIND_TYPEDEF, false, 0, 1); // 2
        b.ty("", KIND_CONST, false, 0, 2); // 3
        b.ty("", KIND_PTR, false, 0, 9); // 4: struct outer *
        b.ty("", KIND_ARRAY, false, 0, 0); // 5: int[2][3] as array of 3 x (array 6)
        b.words(&[6, 1, 3]);
        b.ty("", KIND_ARRAY, false, 0, 0); // 6: int[2]
        b.words(&[1, 1, 2]);
        b.ty("", KIND_INT, false, 0, 4); // 7: old-style bitfield: 3 bits at bit 5 of an int
        b.words(&[(5 << 16) | 3]);
        b.ty("", KIND_UNION, false, 2, 8); // 8: anonymous union
        b.member("u_a", 1, 0);
        b.member("u_b", 4, 0);
        b.ty("outer", KIND_STRUCT, true, 7, 48); // 9, kflag: offsets pack bitfield widths
        b.member("a", 3, 0);
        b.member("self_ptr", 4, 64);
        b.member("", 8, 128);
        b.member("grid", 5, 192);
        b.member("bits", 1, (4 << 24) | (196 * 8 + 2));
        b.member("byte_bits", 1, (8 << 24) | (197 * 8));
        b.member("fwd_ptr", 11, 320);
        b.ty("old", KIND_STRUCT, false, 2, 8); // 10, no kflag: bitfield in the INT type
        b.member("x", 7, 0);
        b.member("y", 1, 32);
        b.ty("", KIND_PTR, false, 0, 12); // 11
        b.ty("opaque", KIND_FWD, false, 0, 0); // 12
        b.build()
    }

    #[test]
    fn hand_built_btf() {
        let btf = Btf::parse(&sample()).unwrap();
        assert_eq!(btf.struct_size("outer").unwrap(), 48);
        let a = btf.member("outer", "a").unwrap();
        assert_eq!((a.offset, a.size, a.type_name, a.is_pointer), (0, 4, None, false));
        let p = btf.member("outer", "self_ptr").unwrap();
        assert_eq!((p.offset, p.size, p.type_name.as_deref(), p.is_pointer), (8, 8, Some("outer"), true));
        assert_eq!(btf.member_offset("outer", "u_a").unwrap(), 16);
        assert_eq!(btf.member("outer", "u_b").unwrap().type_name.as_deref(), Some("outer"));
        let grid = btf.member("outer", "grid").unwrap();
        assert_eq!((grid.offset, grid.size), (24, 24));
        assert!(matches!(btf.member("outer", "bits"), Err(BtfError::Bitfield { bit_offset: 1570, bits: 4, .. })));
        let byte_bits = btf.member("outer", "byte_bits").unwrap();
        assert_eq!((byte_bits.offset, byte_bits.size), (197, 1));
        assert_eq!(btf.member("outer", "fwd_ptr").unwrap().type_name.as_deref(), Some("opaque"));
        assert!(matches!(btf.member("old", "x"), Err(BtfError::Bitfield { bit_offset: 5, bits: 3, .. })));
        assert_eq!(btf.member_offset("old", "y").unwrap(), 4);
        // Anonymous structs and unions have no name to be found by.
        assert!(matches!(btf.member("", "u_a"), Err(BtfError::NoSuchStruct(_))));
    }

    #[test]
    fn corrupt_bytes_never_panic() {
        let good = sample();
        for i in 0..good.len() {
            for value in [0x00, 0x7f, 0xff] {
                let mut bad = good.clone();
                bad[i] = value;
                if let Ok(btf) = Btf::parse(&bad) {
                    for (s, m) in [("outer", "a"), ("outer", "grid"), ("outer", "u_b"), ("old", "y"), ("outer", "zz")] {
                        let _ = btf.member(s, m);
                        let _ = btf.struct_size(s);
                    }
                }
            }
        }
    }

    #[test]
    fn cycles_are_errors() {
        let mut b = Builder::new();
        b.ty("loop", KIND_TYPEDEF, false, 0, 2); // 1 -> 2 -> 1
        b.ty("", KIND_CONST, false, 0, 1); // 2
        b.ty("s", KIND_STRUCT, false, 2, 8); // 3
        b.member("m", 1, 0);
        b.member("", 3, 0); // anonymous member that is the struct itself
        let btf = Btf::parse(&b.build()).unwrap();
        assert!(matches!(btf.member("s", "m"), Err(BtfError::Malformed(_))));
        assert!(matches!(btf.member("s", "nope"), Err(BtfError::Malformed(_))));
    }
}
