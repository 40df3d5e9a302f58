//! The `wasm_bpf` host ABI (and the Go SDK's `callback-wrapper` poll) on libbpf-rs: the
//! functions a guest imports, each checking every guest pointer and length first. Errors
//! the guest can handle are negative errnos; only a stop request or a trap in a guest
//! callback ends the run from here.

use std::collections::BTreeMap;
use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;
use std::time::{Duration, Instant};

use libbpf_rs::{Link, MapCore, MapType, Object, ObjectBuilder, ProgramType};
use wasmtime::{Caller, Linker, Memory, Ref, TypedFunc};

use super::buffer::Buffer;
use super::mem;
use super::{Host, Stopped, SLICE};
use crate::runner::{capture::Capture, sys, vlog};

/// A loaded object with what hangs off it. Fields drop in order: buffers, links, object.
pub struct Loaded {
    buffers: BTreeMap<i32, Buffer>,
    links: Vec<Link>,
    obj: Object,
}

/// The objects a guest has loaded, by handle.
#[derive(Default)]
pub struct Objects {
    by_handle: BTreeMap<u64, Loaded>,
    next: u64,
}

impl Objects {
    fn get(&mut self, handle: i64) -> Option<&mut Loaded> {
        self.by_handle.get_mut(&(handle as u64))
    }

    /// Key size, value size (per-CPU maps: every CPU's, 8-byte aligned) and type of the map
    /// with this fd. Only maps of loaded objects count: a guest cannot reach other fds.
    fn map_by_fd(&self, fd: i32) -> Option<(usize, usize)> {
        for l in self.by_handle.values() {
            for m in l.obj.maps() {
                if m.as_fd().as_raw_fd() == fd {
                    let key = m.key_size() as usize;
                    let mut value = m.value_size() as usize;
                    if is_percpu(m.map_type()) {
                        let cpus = libbpf_rs::num_possible_cpus().ok()?;
                        value = value.div_ceil(8) * 8 * cpus;
                    }
                    return Some((key, value));
                }
            }
        }
        None
    }
}

fn is_percpu(t: MapType) -> bool {
    matches!(
        t,
        MapType::PercpuHash
            | MapType::PercpuArray
            | MapType::LruPercpuHash
            | MapType::PercpuCgroupStorage
    )
}

/// The errno of a libbpf-rs error, for the guest.
pub fn errno_of(e: &libbpf_rs::Error) -> i32 {
    use libbpf_rs::ErrorKind as K;
    match e.kind() {
        K::NotFound => libc::ENOENT,
        K::PermissionDenied => libc::EPERM,
        K::AlreadyExists => libc::EEXIST,
        K::WouldBlock => libc::EAGAIN,
        K::Interrupted => libc::EINTR,
        K::Unsupported => libc::EOPNOTSUPP,
        K::OutOfMemory => libc::ENOMEM,
        K::TooBig => libc::E2BIG,
        _ => libc::EINVAL,
    }
}

fn memory(caller: &mut Caller<'_, Host>) -> Option<Memory> {
    caller.data().memory
}

/// The guest's bytes at `[ptr, ptr + len)`, copied out.
fn read(caller: &mut Caller<'_, Host>, ptr: i32, len: usize) -> Result<Vec<u8>, i32> {
    let m = memory(caller).ok_or(-libc::EFAULT)?;
    let data = m.data(&*caller);
    let r = mem::sized(data.len(), ptr, len)?;
    Ok(data[r].to_vec())
}

fn write(caller: &mut Caller<'_, Host>, ptr: i32, bytes: &[u8]) -> Result<(), i32> {
    let m = memory(caller).ok_or(-libc::EFAULT)?;
    let data = m.data_mut(&mut *caller);
    let r = mem::sized(data.len(), ptr, bytes.len())?;
    data[r].copy_from_slice(bytes);
    Ok(())
}

/// Checks that `[ptr, ptr + len)` is writable guest memory without touching it.
fn check(caller: &mut Caller<'_, Host>, ptr: i32, len: usize) -> Result<(), i32> {
    let m = memory(caller).ok_or(-libc::EFAULT)?;
    mem::sized(m.data_size(&*caller), ptr, len).map(|_| ())
}

fn string(caller: &mut Caller<'_, Host>, ptr: i32) -> Result<String, i32> {
    let m = memory(caller).ok_or(-libc::EFAULT)?;
    mem::cstr(m.data(&*caller), ptr)
}

/// Prints why a call failed; the guest gets only an errno, the user deserves the reason.
fn complain(caller: &Caller<'_, Host>, what: &str, msg: &str) {
    eprintln!("ecc run: {}: {what}: {msg}", caller.data().name);
}

pub fn add_to_linker(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    const M: &str = "wasm_bpf";
    linker.func_wrap(M, "wasm_load_bpf_object", load)?;
    linker.func_wrap(M, "wasm_attach_bpf_program", attach)?;
    linker.func_wrap(
        M,
        "wasm_bpf_buffer_poll",
        |mut c: Caller<'_, Host>,
         obj: i64,
         fd: i32,
         sample_fn: i32,
         ctx: i32,
         data: i32,
         max: i32,
         timeout: i32| {
            let cb = match table_callback(&mut c, sample_fn) {
                Ok(f) => f,
                Err(e) => return Ok(e),
            };
            poll(&mut c, obj, fd, &cb, ctx, data, max, timeout)
        },
    )?;
    linker.func_wrap(
        "callback-wrapper",
        "wasm_bpf_buffer_poll",
        |mut c: Caller<'_, Host>,
         obj: i64,
         fd: i32,
         ctx: i32,
         data: i32,
         max: i32,
         timeout: i32| {
            let Some(cb) = c.data().go_callback.clone() else {
                return Ok(-libc::EINVAL);
            };
            poll(&mut c, obj, fd, &cb, ctx, data, max, timeout)
        },
    )?;
    linker.func_wrap(M, "wasm_bpf_map_fd_by_name", map_fd_by_name)?;
    linker.func_wrap(M, "wasm_bpf_map_operate", map_operate)?;
    linker.func_wrap(
        M,
        "wasm_close_bpf_object",
        |mut c: Caller<'_, Host>, obj: i64| match c
            .data_mut()
            .objects
            .by_handle
            .remove(&(obj as u64))
        {
            Some(_) => 0,
            None => -libc::ENOENT,
        },
    )?;
    Ok(())
}

fn load(mut c: Caller<'_, Host>, buf: i32, len: i32) -> i64 {
    let n = usize::try_from(len).map_err(|_| -libc::EINVAL);
    let bytes = match n.and_then(|n| read(&mut c, buf, n)) {
        Ok(b) => b,
        Err(e) => {
            complain(
                &c,
                "wasm_load_bpf_object",
                &format!("bad object range ({e})"),
            );
            return 0;
        }
    };
    let cap = Capture::start();
    let opened = ObjectBuilder::default().open_memory(&bytes);
    let result = opened.and_then(|o| o.load());
    let msgs = vlog::libbpf_messages(&cap.take());
    drop(cap);
    let obj = match result {
        Ok(o) => o,
        Err(e) => {
            let why = msgs.last().map(|m| format!(" ({m})")).unwrap_or_default();
            complain(&c, "loading the BPF object", &format!("{e:#}{why}"));
            return 0;
        }
    };
    let objects = &mut c.data_mut().objects;
    objects.next += 1;
    let handle = objects.next;
    objects.by_handle.insert(
        handle,
        Loaded {
            buffers: BTreeMap::new(),
            links: Vec::new(),
            obj,
        },
    );
    handle as i64
}

fn is_cgroup(t: ProgramType) -> bool {
    matches!(
        t,
        ProgramType::SockOps
            | ProgramType::CgroupSkb
            | ProgramType::CgroupSock
            | ProgramType::CgroupSockAddr
            | ProgramType::CgroupSockopt
            | ProgramType::CgroupSysctl
            | ProgramType::CgroupDevice
    )
}

fn attach(mut c: Caller<'_, Host>, obj: i64, name: i32, target: i32) -> i32 {
    let name = match string(&mut c, name) {
        Ok(n) => n,
        Err(e) => return e,
    };
    let target = match target {
        0 => String::new(),
        p => match string(&mut c, p) {
            Ok(t) => t,
            Err(e) => return e,
        },
    };
    let mount = c.data().mount_tracefs;
    let Some(l) = c.data_mut().objects.get(obj) else {
        return -libc::ENOENT;
    };
    let Some(prog) = l
        .obj
        .progs_mut()
        .find(|p| p.name().to_string_lossy() == name.as_str())
    else {
        complain(
            &c,
            "wasm_attach_bpf_program",
            &format!("no program '{name}'"),
        );
        return -libc::ENOENT;
    };
    let section = prog.section().to_string_lossy().into_owned();
    let cap = Capture::start();
    let link = if !target.is_empty() && prog.prog_type() == ProgramType::Xdp {
        let Ok(ifname) = std::ffi::CString::new(target.as_str()) else {
            return -libc::EINVAL;
        };
        // SAFETY: a NUL-terminated string we own.
        let ifindex = unsafe { libc::if_nametoindex(ifname.as_ptr()) };
        if ifindex == 0 {
            complain(&c, "attaching", &format!("{name}: no interface '{target}'"));
            return -libc::ENODEV;
        }
        match i32::try_from(ifindex) {
            Ok(i) => prog.attach_xdp(i),
            Err(_) => return -libc::EINVAL,
        }
    } else if !target.is_empty() && is_cgroup(prog.prog_type()) {
        match std::fs::File::open(Path::new(&target)) {
            Ok(f) => prog.attach_cgroup(f.as_raw_fd()),
            Err(e) => {
                complain(&c, "attaching", &format!("{name}: cgroup {target}: {e}"));
                return -e.raw_os_error().unwrap_or(libc::EINVAL);
            }
        }
    } else {
        if super::super::run::needs_tracefs(&section) && !sys::tracefs_mounted() {
            if let Some(Err(e)) = mount.map(|m| m()) {
                eprintln!("ecc run: mounting tracefs: {e}");
            }
        }
        prog.attach()
    };
    let msgs = vlog::libbpf_messages(&cap.take());
    drop(cap);
    match link {
        Ok(link) => {
            if let Some(l) = c.data_mut().objects.get(obj) {
                l.links.push(link);
            }
            0
        }
        Err(e) => {
            let why = msgs.last().map(|m| format!(" ({m})")).unwrap_or_default();
            complain(&c, "attaching", &format!("{name} ({section}): {e:#}{why}"));
            -errno_of(&e)
        }
    }
}

/// The function at `index` in the guest's exported table, as a sample callback.
fn table_callback(
    c: &mut Caller<'_, Host>,
    index: i32,
) -> Result<TypedFunc<(i32, i32, i32), i32>, i32> {
    let Some(t) = c.data().table else {
        complain(
            c,
            "wasm_bpf_buffer_poll",
            "the guest exports no function table (link it with --export-table)",
        );
        return Err(-libc::EINVAL);
    };
    let Some(Ref::Func(Some(f))) = t.get(&mut *c, index as u32 as u64) else {
        return Err(-libc::EINVAL);
    };
    f.typed::<(i32, i32, i32), i32>(&*c)
        .map_err(|_| -libc::EINVAL)
}

/// Polls the buffer of map `fd` (building it on first use), then delivers every queued
/// sample to `cb` in order. Returns how many were delivered, or a negative errno.
#[allow(clippy::too_many_arguments)] // the ABI's parameters, passed through
fn poll(
    c: &mut Caller<'_, Host>,
    obj: i64,
    fd: i32,
    cb: &TypedFunc<(i32, i32, i32), i32>,
    ctx: i32,
    data: i32,
    max: i32,
    timeout_ms: i32,
) -> wasmtime::Result<i32> {
    if max <= 0 {
        return Ok(-libc::EINVAL);
    }
    if let Err(e) = check(c, data, max as usize) {
        return Ok(e);
    }
    let Some(l) = c.data_mut().objects.get(obj) else {
        return Ok(-libc::ENOENT);
    };
    if !l.buffers.contains_key(&fd) {
        let Some(map) = l.obj.maps().find(|m| m.as_fd().as_raw_fd() == fd) else {
            return Ok(-libc::EBADF);
        };
        match Buffer::new(&map) {
            None => return Ok(-libc::EINVAL),
            Some(Err(e)) => return Ok(-errno_of(&e)),
            Some(Ok(b)) => {
                l.buffers.insert(fd, b);
            }
        }
    }
    let waited = Instant::now();
    let timeout = Duration::from_millis(timeout_ms.max(0) as u64);
    loop {
        c.data().check_stop()?;
        let host = c.data_mut();
        let Some(b) = host.objects.get(obj).and_then(|l| l.buffers.get(&fd)) else {
            return Ok(-libc::ENOENT);
        };
        if !b.queue().is_empty() {
            break;
        }
        let left = timeout.saturating_sub(waited.elapsed());
        if let Err(e) = b.poll(left.min(SLICE)) {
            return Ok(e);
        }
        if !b.queue().is_empty() || waited.elapsed() >= timeout {
            break;
        }
    }
    deliver(c, obj, fd, cb, ctx, data, max as usize)
}

/// Hands queued samples to the guest one by one, each copied straight from the queue into
/// the guest's buffer. The queue lock is not held across the call: the callback may use the
/// host again (map lookups, even closing the object, which ends the delivery).
fn deliver(
    c: &mut Caller<'_, Host>,
    obj: i64,
    fd: i32,
    cb: &TypedFunc<(i32, i32, i32), i32>,
    ctx: i32,
    data: i32,
    max: usize,
) -> wasmtime::Result<i32> {
    let Some(memory) = c.data().memory else {
        return Ok(-libc::EFAULT);
    };
    let Some(queue) = buffer_of(c, obj, fd).map(|b| b.queue.clone()) else {
        return Ok(0);
    };
    let mut delivered = 0i32;
    loop {
        let len = {
            let mut q = super::buffer::lock(&queue);
            if q.lost > 0 {
                eprintln!(
                    "ecc run: {}: warning: the kernel dropped {} perf samples",
                    c.data().name,
                    q.lost
                );
                q.lost = 0;
            }
            let Some(s) = q.peek() else { break };
            let s = &s[..s.len().min(max)];
            let mem = memory.data_mut(&mut *c);
            match mem::sized(mem.len(), data, s.len()) {
                Ok(r) => mem[r].copy_from_slice(s),
                Err(e) => return Ok(e),
            }
            let len = s.len();
            q.pop();
            len
        };
        let len = i32::try_from(len).unwrap_or(i32::MAX);
        let rc = cb.call(&mut *c, (ctx, data, len))?;
        delivered = delivered.saturating_add(1);
        // A negative return stops this poll, as in libbpf; later samples wait for the next.
        if rc < 0 {
            return Ok(rc);
        }
        if buffer_of(c, obj, fd).is_none() {
            break;
        }
    }
    Ok(delivered)
}

/// The buffer of map `fd` in object `obj`, if both are still open.
fn buffer_of<'a>(c: &'a mut Caller<'_, Host>, obj: i64, fd: i32) -> Option<&'a Buffer> {
    c.data_mut()
        .objects
        .get(obj)
        .and_then(|l| l.buffers.get(&fd))
}

fn map_fd_by_name(mut c: Caller<'_, Host>, obj: i64, name: i32) -> i32 {
    let name = match string(&mut c, name) {
        Ok(n) => n,
        Err(e) => return e,
    };
    let Some(l) = c.data_mut().objects.get(obj) else {
        return -libc::ENOENT;
    };
    let fd = l
        .obj
        .maps()
        .find(|m| m.name().to_string_lossy() == name.as_str())
        .map(|m| m.as_fd().as_raw_fd());
    fd.unwrap_or(-libc::ENOENT)
}

const LOOKUP: i32 = 1;
const UPDATE: i32 = 2;
const DELETE: i32 = 3;
const NEXT_KEY: i32 = 4;

fn map_operate(
    mut c: Caller<'_, Host>,
    fd: i32,
    cmd: i32,
    key: i32,
    value: i32,
    next_key: i32,
    flags: i64,
) -> i32 {
    match operate(&mut c, fd, cmd, key, value, next_key, flags as u64) {
        Ok(()) => 0,
        Err(e) => e,
    }
}

/// Null for a key-less map (queue, stack), else the key's bytes.
fn key_ptr(k: &[u8]) -> *const std::ffi::c_void {
    if k.is_empty() {
        std::ptr::null()
    } else {
        k.as_ptr().cast()
    }
}

fn operate(
    c: &mut Caller<'_, Host>,
    fd: i32,
    cmd: i32,
    key: i32,
    value: i32,
    next_key: i32,
    flags: u64,
) -> Result<(), i32> {
    use libbpf_rs::libbpf_sys as sys;
    let (ks, vs) = c.data().objects.map_by_fd(fd).ok_or(-libc::EBADF)?;
    let rc = match cmd {
        LOOKUP => {
            let k = read(c, key, ks)?;
            check(c, value, vs)?;
            let mut v = vec![0u8; vs];
            // SAFETY: k and v are host buffers of the map's key and value sizes.
            let rc = unsafe {
                sys::bpf_map_lookup_elem_flags(fd, key_ptr(&k), v.as_mut_ptr().cast(), flags)
            };
            if rc == 0 {
                write(c, value, &v)?;
            }
            rc
        }
        UPDATE => {
            let k = read(c, key, ks)?;
            let v = read(c, value, vs)?;
            // SAFETY: as above.
            unsafe { sys::bpf_map_update_elem(fd, key_ptr(&k), v.as_ptr().cast(), flags) }
        }
        DELETE => {
            let k = read(c, key, ks)?;
            // SAFETY: as above.
            unsafe { sys::bpf_map_delete_elem_flags(fd, key_ptr(&k), flags) }
        }
        NEXT_KEY => {
            // A null key asks for the first key.
            let k = match key {
                0 => None,
                p => Some(read(c, p, ks)?),
            };
            check(c, next_key, ks)?;
            let mut nk = vec![0u8; ks];
            let kp = k.as_deref().map_or(std::ptr::null(), key_ptr);
            // SAFETY: as above; a null key is allowed by the kernel.
            let rc = unsafe { sys::bpf_map_get_next_key(fd, kp, nk.as_mut_ptr().cast()) };
            if rc == 0 {
                write(c, next_key, &nk)?;
            }
            rc
        }
        _ => return Err(-libc::EINVAL),
    };
    // libbpf returns -errno itself.
    if rc < 0 {
        Err(rc)
    } else {
        Ok(())
    }
}

impl Host {
    /// Ends the run (not as an error) once a stop is requested or the deadline passed.
    pub fn check_stop(&self) -> Result<(), Stopped> {
        let late = self.deadline.is_some_and(|d| Instant::now() >= d);
        if late || self.stop.load(std::sync::atomic::Ordering::Relaxed) {
            Err(Stopped)
        } else {
            Ok(())
        }
    }
}
