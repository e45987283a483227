//! What a start costs in the page cache, for `bench --cold-cache`: evicting
//! a file from it, counting how much of a file is in it, and reading from
//! `/proc` what a process faulted, read and mapped.
//!
//! Lambda starts a function from a freshly unpacked file on a disk no
//! process has read yet, so every page the start touches comes from the
//! disk. Here the file has usually been read a moment ago (by the linker,
//! by the last start), and stays in the page cache. Eviction is
//! `posix_fadvise(POSIX_FADV_DONTNEED)` after an `fsync`: the kernel drops
//! the file's clean pages, except those some process has mapped (a shared
//! library every process maps keeps its hot pages). On tmpfs the page cache
//! is the storage and nothing is dropped. Residency is `mincore` on a
//! mapping of the file that is never touched, so it reads the cache without
//! changing it. Both are declared here by hand (no libc crate for four
//! calls); they exist on Linux only.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

/// How much of a file is in the page cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Residency {
    /// Pages in the cache.
    pub resident: u64,
    /// Pages the file spans.
    pub pages: u64,
    /// The page size, in bytes.
    pub page_bytes: u64,
}

impl Residency {
    /// The bytes in the cache, counted in whole pages.
    pub fn resident_bytes(&self) -> u64 {
        self.resident * self.page_bytes
    }
}

/// Writes back anything of `path` not yet on disk, then asks the kernel to
/// drop its pages from the page cache. Check with [`residency`]: the kernel
/// keeps pages without saying so.
pub fn evict(path: &Path) -> io::Result<()> {
    let file = File::open(path)?;
    // Dirty pages (a binary just linked or copied) cannot be dropped.
    file.sync_all()?;
    sys::drop_cached(&file)
}

/// How much of `path` is in the page cache now.
pub fn residency(path: &Path) -> io::Result<Residency> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    let page_bytes = sys::page_size();
    let pages = len.div_ceil(page_bytes);
    if len == 0 {
        return Ok(Residency {
            resident: 0,
            pages,
            page_bytes,
        });
    }
    let resident = sys::resident_pages(&file, len)?;
    Ok(Residency {
        resident,
        pages,
        page_bytes,
    })
}

/// Reads `path` to its end, so that all of it is in the page cache (unless
/// the cache is too small to hold it).
pub fn warm(path: &Path) -> io::Result<()> {
    let mut file = File::open(path)?;
    io::copy(&mut file, &mut io::sink()).map(drop)
}

/// Page faults of a process so far, from `/proc/PID/stat`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Faults served without I/O: a page already in the cache, a zeroed one.
    pub minor: u64,
    /// Faults that waited on I/O: a page read from the file.
    pub major: u64,
}

/// Reads `minflt` and `majflt` from the text of `/proc/PID/stat`, which the
/// kernel sums over all the process's threads. The name (field 2) is in
/// parentheses and may hold spaces and parentheses, so the fields are
/// counted from the last `)`: field 3, the state, comes right after it,
/// `minflt` is field 10 and `majflt` field 12 (proc(5)).
pub fn parse_stat(stat: &str) -> Option<Faults> {
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(Faults {
        minor: field(10)?,
        major: field(12)?,
    })
}

/// The page faults of process `pid` so far.
pub fn faults(pid: u32) -> Option<Faults> {
    parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Reads `read_bytes` from the text of `/proc/PID/io`: the bytes the
/// process caused to be read from storage (page-cache hits count nothing,
/// nor does tmpfs).
pub fn parse_io_read_bytes(io: &str) -> Option<u64> {
    io.lines()
        .find_map(|line| line.strip_prefix("read_bytes:"))
        .and_then(|rest| rest.trim().parse().ok())
}

/// The bytes process `pid` caused to be read from storage so far.
pub fn read_bytes(pid: u32) -> Option<u64> {
    parse_io_read_bytes(&fs::read_to_string(format!("/proc/{pid}/io")).ok()?)
}

/// The files a process maps, from the text of `/proc/PID/maps`, each once,
/// in the order they first appear: the binary, then its loader and shared
/// libraries. Anonymous and special mappings (`[heap]`, `[vdso]`...) are
/// left out, and so are files deleted since they were mapped.
pub fn parse_mapped_files(maps: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = Vec::new();
    for line in maps.lines() {
        // address perms offset dev inode, then the path, which may hold
        // spaces.
        let mut rest = line.trim_start();
        let mut fields = Vec::with_capacity(5);
        for _ in 0..5 {
            let Some((field, tail)) = rest.split_once(char::is_whitespace) else {
                rest = "";
                break;
            };
            fields.push(field);
            rest = tail.trim_start();
        }
        let inode = fields.get(4).copied().unwrap_or("0");
        if inode == "0" || !rest.starts_with('/') || rest.ends_with(" (deleted)") {
            continue;
        }
        let path = PathBuf::from(rest);
        if !files.contains(&path) {
            files.push(path);
        }
    }
    files
}

/// The files process `pid` maps.
pub fn mapped_files(pid: u32) -> io::Result<Vec<PathBuf>> {
    Ok(parse_mapped_files(&fs::read_to_string(format!(
        "/proc/{pid}/maps"
    ))?))
}

/// The mount a file lives on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    /// The file system type: "ext4", "overlay", "tmpfs"...
    pub kind: String,
    /// The device number, `MAJOR:MINOR`.
    pub device: String,
}

impl Mount {
    /// The read-ahead of the block device under it, in KiB: how much the
    /// kernel reads around a page fault on a file that is not in the cache
    /// (128 by default; a virtual disk may set much more). `None` when no
    /// block device is under it (tmpfs, overlay).
    pub fn read_ahead_kib(&self) -> Option<u64> {
        // A partition has no queue of its own: its disk is one level up.
        ["queue", "../queue"].iter().find_map(|queue| {
            let path = format!("/sys/dev/block/{}/{queue}/read_ahead_kb", self.device);
            fs::read_to_string(path).ok()?.trim().parse().ok()
        })
    }
}

/// The mount `path` lives on, from `/proc/self/mountinfo`.
pub fn mount(path: &Path) -> Option<Mount> {
    let path = fs::canonicalize(path).ok()?;
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").ok()?;
    parse_mount(&mountinfo, &path)
}

/// The mount that holds `path` (canonical): the last listed of the longest
/// mount points that contain it, as later mounts hide earlier ones. A
/// mountinfo line is `ID PARENT MAJ:MIN ROOT MOUNT-POINT OPTIONS
/// [OPTIONAL...] - TYPE SOURCE SUPER-OPTIONS`, with spaces in paths written
/// `\040` (proc(5)).
pub fn parse_mount(mountinfo: &str, path: &Path) -> Option<Mount> {
    let mut best: Option<(usize, Mount)> = None;
    for line in mountinfo.lines() {
        let Some((before, after)) = line.split_once(" - ") else {
            continue;
        };
        let fields: Vec<&str> = before.split(' ').collect();
        let (Some(device), Some(point), Some(kind)) =
            (fields.get(2), fields.get(4), after.split(' ').next())
        else {
            continue;
        };
        let point = PathBuf::from(point.replace("\\040", " "));
        if !path.starts_with(&point) {
            continue;
        }
        let depth = point.components().count();
        if best.as_ref().is_none_or(|(d, _)| depth >= *d) {
            let mount = Mount {
                kind: kind.to_string(),
                device: device.to_string(),
            };
            best = Some((depth, mount));
        }
    }
    best.map(|(_, mount)| mount)
}

#[cfg(target_os = "linux")]
mod sys {
    use std::ffi::{c_int, c_long, c_void};
    use std::fs::File;
    use std::io;
    use std::os::fd::AsRawFd;
    use std::ptr;

    // The Linux values on x86_64 and aarch64 (asm-generic; s390x differs).
    const POSIX_FADV_DONTNEED: c_int = 4;
    const PROT_READ: c_int = 1;
    const MAP_SHARED: c_int = 1;
    const SC_PAGESIZE: c_int = 30;

    // `off_t` is 64 bits on 64-bit Linux, the only place this runs.
    unsafe extern "C" {
        fn posix_fadvise(fd: c_int, offset: i64, len: i64, advice: c_int) -> c_int;
        fn mmap(
            addr: *mut c_void,
            len: usize,
            prot: c_int,
            flags: c_int,
            fd: c_int,
            offset: i64,
        ) -> *mut c_void;
        fn munmap(addr: *mut c_void, len: usize) -> c_int;
        fn mincore(addr: *mut c_void, len: usize, vec: *mut u8) -> c_int;
        fn sysconf(name: c_int) -> c_long;
    }

    pub(super) fn drop_cached(file: &File) -> io::Result<()> {
        // SAFETY: a plain system call on an open descriptor; offset and
        // length 0 mean the whole file. It returns the error number itself.
        let error = unsafe { posix_fadvise(file.as_raw_fd(), 0, 0, POSIX_FADV_DONTNEED) };
        match error {
            0 => Ok(()),
            e => Err(io::Error::from_raw_os_error(e)),
        }
    }

    pub(super) fn page_size() -> u64 {
        // SAFETY: sysconf reads a constant of the system.
        let size = unsafe { sysconf(SC_PAGESIZE) };
        u64::try_from(size).unwrap_or(4096)
    }

    pub(super) fn resident_pages(file: &File, len: u64) -> io::Result<u64> {
        let len = usize::try_from(len).map_err(io::Error::other)?;
        let pages = len.div_ceil(page_size() as usize);
        // SAFETY: a new read-only shared mapping of the whole file, placed
        // by the kernel; it is only handed to mincore, never read, so no
        // page is faulted in, and it is unmapped below on every path.
        let addr = unsafe {
            mmap(
                ptr::null_mut(),
                len,
                PROT_READ,
                MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if addr as usize == usize::MAX {
            return Err(io::Error::last_os_error());
        }
        let mut vec = vec![0u8; pages];
        // SAFETY: `addr` is page-aligned and spans `len` bytes; `vec` has
        // one byte per page of that span, as mincore writes.
        let status = unsafe { mincore(addr, len, vec.as_mut_ptr()) };
        let error = io::Error::last_os_error();
        // SAFETY: the mapping made above, not used after this.
        unsafe { munmap(addr, len) };
        if status != 0 {
            return Err(error);
        }
        // The low bit of each byte says whether that page is resident.
        Ok(vec.iter().filter(|&&b| b & 1 == 1).count() as u64)
    }
}

#[cfg(not(target_os = "linux"))]
mod sys {
    use std::fs::File;
    use std::io;

    fn unsupported() -> io::Error {
        io::Error::new(io::ErrorKind::Unsupported, "page-cache control needs Linux")
    }

    pub(super) fn drop_cached(_: &File) -> io::Result<()> {
        Err(unsupported())
    }

    pub(super) fn page_size() -> u64 {
        4096
    }

    pub(super) fn resident_pages(_: &File, _: u64) -> io::Result<u64> {
        Err(unsupported())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_faults_from_proc_stat() {
        // A real line, with a name that holds a space and a parenthesis.
        let stat = "4242 (boot strap)) S 4200 4242 4200 0 -1 4194560 171 0 3 0 \
                    0 0 0 0 20 0 1 0 123456 4530176 312 18446744073709551615";
        assert_eq!(
            parse_stat(stat),
            Some(Faults {
                minor: 171,
                major: 3
            })
        );
        assert_eq!(parse_stat("4242 (short) S 1 2"), None);
        assert_eq!(parse_stat("no parenthesis"), None);
    }

    #[test]
    fn reads_read_bytes_from_proc_io() {
        let io = "rchar: 5120\nwchar: 0\nsyscr: 9\nsyscw: 0\n\
                  read_bytes: 413696\nwrite_bytes: 0\ncancelled_write_bytes: 0\n";
        assert_eq!(parse_io_read_bytes(io), Some(413_696));
        assert_eq!(parse_io_read_bytes("rchar: 1\n"), None);
    }

    #[test]
    fn lists_mapped_files_once_in_order() {
        let maps = "\
55d0c0a00000-55d0c0a10000 r--p 00000000 fe:00 1311 /work/target/size/examples/echo
55d0c0a10000-55d0c0a50000 r-xp 00010000 fe:00 1311 /work/target/size/examples/echo
55d0c1a00000-55d0c1a21000 rw-p 00000000 00:00 0    [heap]
7f1e2c000000-7f1e2c028000 r--p 00000000 fe:00 2210 /usr/lib/x86_64-linux-gnu/libc.so.6
7f1e2c400000-7f1e2c401000 r--p 00000000 fe:00 2215 /tmp/with space/lib.so
7f1e2c500000-7f1e2c501000 r--p 00000000 fe:00 2216 /tmp/gone.so (deleted)
7ffd1e3f0000-7ffd1e3f2000 r-xp 00000000 00:00 0    [vdso]
";
        assert_eq!(
            parse_mapped_files(maps),
            [
                "/work/target/size/examples/echo",
                "/usr/lib/x86_64-linux-gnu/libc.so.6",
                "/tmp/with space/lib.so",
            ]
            .map(PathBuf::from)
        );
    }

    #[test]
    fn finds_the_file_system_of_a_path() {
        let mountinfo = "\
22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
23 22 0:21 / /tmp rw,nosuid shared:2 - tmpfs tmpfs rw
24 22 0:45 / /work rw - overlay overlay rw,lowerdir=/a
25 24 0:46 / /work/my\\040disk rw - xfs /dev/vdb rw
26 22 0:47 / /tmp rw - ext4 /dev/vdc rw
";
        let fs = |path: &str| parse_mount(mountinfo, Path::new(path)).map(|m| m.kind);
        assert_eq!(fs("/usr/bin/true").as_deref(), Some("ext4"));
        assert_eq!(fs("/work/main/target").as_deref(), Some("overlay"));
        assert_eq!(fs("/work/my disk/x").as_deref(), Some("xfs"));
        // /tmp is mounted twice; the later mount hides the earlier.
        assert_eq!(fs("/tmp/x").as_deref(), Some("ext4"));
        // A path component, not a string prefix.
        assert_eq!(fs("/workshop").as_deref(), Some("ext4"));
        let device = parse_mount(mountinfo, Path::new("/work/main")).map(|m| m.device);
        assert_eq!(device.as_deref(), Some("0:45"));
        assert_eq!(parse_mount("", Path::new("/")), None);
    }

    #[test]
    fn evicts_a_file_it_wrote() {
        let dir = std::env::temp_dir().join(format!("tiny-lambda-evict-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("data");
        fs::write(&path, vec![1u8; 64 * 1024]).unwrap();
        warm(&path).unwrap();
        let before = residency(&path).unwrap();
        assert_eq!(before.pages, 64 * 1024 / before.page_bytes);
        assert_eq!(before.resident, before.pages);
        evict(&path).unwrap();
        let after = residency(&path).unwrap();
        // tmpfs keeps its pages: the page cache is its storage.
        // The file systems on a block device drop all of them; tmpfs keeps
        // its pages (the page cache is its storage) and overlay does what
        // the file system under it does.
        let kind = mount(&path).map(|m| m.kind).unwrap_or_default();
        if ["ext4", "xfs", "btrfs"].contains(&kind.as_str()) {
            assert_eq!(after.resident, 0, "{after:?} on {kind}");
        } else if ["tmpfs", "ramfs"].contains(&kind.as_str()) {
            assert_eq!(after.resident, before.resident, "{after:?} on {kind}");
        }
        fs::remove_dir_all(&dir).unwrap();
    }
}
