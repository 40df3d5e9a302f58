//! The two WASI preview 1 functions the host replaces: `poll_oneoff`, so a guest asleep
//! (`sleep`, `nanosleep`: one or more relative clock subscriptions) is stopped by a stop
//! request like a guest in a BPF poll, and `proc_exit`, so every exit status reaches
//! `outcome` (WASI's own turns statuses from 126 up into a trap).

use std::time::{Duration, Instant};

use wasmtime::{Caller, Linker, Store};
use wasmtime_wasi::I32Exit;

use super::{mem, Host, SLICE};

const MODULE: &str = "wasi_snapshot_preview1";
/// Sizes and offsets of WASI preview 1's `subscription` and `event` records.
const SUB_SIZE: usize = 48;
const EVENT_SIZE: usize = 32;
/// `subscription.u` tag of a clock subscription, and `subclockflags::abstime`.
const TAG_CLOCK: u8 = 0;
const ABSTIME: u16 = 1;
/// `clockid::realtime` and `clockid::monotonic`: the clocks a relative sleep may use.
const MAX_SLEEP_CLOCK: u32 = 1;

/// Replaces `poll_oneoff` and `proc_exit` in `linker` (after WASI was added to it), keeping
/// WASI's `poll_oneoff` in the store for the cases handed back to it.
pub fn shadow(linker: &mut Linker<Host>, store: &mut Store<Host>) -> wasmtime::Result<()> {
    let original = linker
        .get(&mut *store, MODULE, "poll_oneoff")
        .ok()
        .and_then(|e| e.into_func());
    store.data_mut().wasi_poll = original;
    linker.allow_shadowing(true);
    linker.func_wrap(MODULE, "poll_oneoff", poll_oneoff)?;
    linker.func_wrap(
        MODULE,
        "proc_exit",
        |_: Caller<'_, Host>, status: i32| -> wasmtime::Result<()> { Err(I32Exit(status).into()) },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// The relative clock subscriptions at `subs`: `(userdata, timeout)` each, or `None` when
/// any subscription is something else (or a pointer is bad: WASI reports those).
fn relative_clocks(mem: &[u8], subs: i32, n: i32, events: i32) -> Option<Vec<(u64, u64)>> {
    let count = usize::try_from(n).ok().filter(|&n| n > 0)?;
    let subs = mem::range(
        mem.len(),
        subs,
        i32::try_from(count.checked_mul(SUB_SIZE)?).ok()?,
    )
    .ok()?;
    mem::range(mem.len(), events, i32::try_from(count * EVENT_SIZE).ok()?).ok()?;
    let le64 = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or_default());
    mem[subs]
        .chunks_exact(SUB_SIZE)
        .map(|s| {
            let clock = u32::from_le_bytes(s[16..20].try_into().unwrap_or_default());
            let flags = u16::from_le_bytes(s[40..42].try_into().unwrap_or_default());
            (s[8] == TAG_CLOCK && clock <= MAX_SLEEP_CLOCK && flags & ABSTIME == 0)
                .then(|| (le64(&s[0..8]), le64(&s[24..32])))
        })
        .collect()
}

fn poll_oneoff(
    mut c: Caller<'_, Host>,
    subs: i32,
    events: i32,
    n: i32,
    nevents: i32,
) -> wasmtime::Result<i32> {
    let Some(memory) = c.data().memory else {
        return delegate(&mut c, subs, events, n, nevents);
    };
    let data = memory.data(&c);
    let clocks = relative_clocks(data, subs, n, events)
        .filter(|_| mem::range(data.len(), nevents, 4).is_ok());
    let Some(clocks) = clocks else {
        return delegate(&mut c, subs, events, n, nevents);
    };
    // Wait for the earliest clock in slices, so a stop request ends the sleep.
    let start = Instant::now();
    let first = clocks.iter().map(|&(_, t)| t).min().unwrap_or(0);
    let until = start + Duration::from_nanos(first);
    loop {
        c.data().check_stop()?;
        let now = Instant::now();
        if now >= until {
            break;
        }
        std::thread::sleep((until - now).min(SLICE));
    }
    // One event per clock that has expired (the earliest at least), as WASI writes them.
    let elapsed = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
    let mut out = Vec::with_capacity(clocks.len() * EVENT_SIZE);
    for &(userdata, _) in clocks.iter().filter(|&&(_, t)| t <= elapsed.max(first)) {
        let mut ev = [0u8; EVENT_SIZE];
        ev[0..8].copy_from_slice(&userdata.to_le_bytes());
        // error (u16 at 8) = success, type (u8 at 10) = clock: zeros.
        out.extend_from_slice(&ev);
    }
    let count = u32::try_from(out.len() / EVENT_SIZE).unwrap_or(u32::MAX);
    let data = memory.data_mut(&mut c);
    // Both ranges were checked above; memory never shrinks.
    if let Ok(r) = mem::sized(data.len(), events, out.len()) {
        data[r].copy_from_slice(&out);
    }
    if let Ok(r) = mem::range(data.len(), nevents, 4) {
        data[r].copy_from_slice(&count.to_le_bytes());
    }
    Ok(0)
}

/// Hands the call to WASI's own `poll_oneoff` (file descriptors, absolute clocks, bad
/// pointers): such waits are not cut short by a stop request.
fn delegate(
    c: &mut Caller<'_, Host>,
    subs: i32,
    events: i32,
    n: i32,
    nevents: i32,
) -> wasmtime::Result<i32> {
    let Some(f) = c.data().wasi_poll else {
        return Err(wasmtime::Error::msg("WASI poll_oneoff is missing"));
    };
    let f = f.typed::<(i32, i32, i32, i32), i32>(&*c)?;
    f.call(&mut *c, (subs, events, n, nevents))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(userdata: u64, tag: u8, clock: u32, timeout: u64, flags: u16) -> [u8; SUB_SIZE] {
        let mut s = [0u8; SUB_SIZE];
        s[0..8].copy_from_slice(&userdata.to_le_bytes());
        s[8] = tag;
        s[16..20].copy_from_slice(&clock.to_le_bytes());
        s[24..32].copy_from_slice(&timeout.to_le_bytes());
        s[40..42].copy_from_slice(&flags.to_le_bytes());
        s
    }

    #[test]
    fn only_relative_clocks_are_handled_here() {
        let mut mem = vec![0u8; 256];
        mem[0..48].copy_from_slice(&sub(7, TAG_CLOCK, 1, 5_000, 0));
        mem[48..96].copy_from_slice(&sub(8, TAG_CLOCK, 0, 9_000, 0));
        assert_eq!(
            relative_clocks(&mem, 0, 2, 96),
            Some(vec![(7, 5_000), (8, 9_000)])
        );
        // Events must fit too.
        assert_eq!(relative_clocks(&mem, 0, 2, 200), None);
        assert_eq!(relative_clocks(&mem, 0, 0, 96), None);
        assert_eq!(relative_clocks(&mem, 0, -1, 96), None);
        assert_eq!(relative_clocks(&mem, 250, 1, 0), None);
        // An absolute clock, a CPU-time clock, an fd subscription: WASI's.
        mem[48..96].copy_from_slice(&sub(8, TAG_CLOCK, 1, 9_000, ABSTIME));
        assert_eq!(relative_clocks(&mem, 0, 2, 96), None);
        mem[48..96].copy_from_slice(&sub(8, TAG_CLOCK, 2, 9_000, 0));
        assert_eq!(relative_clocks(&mem, 0, 2, 96), None);
        mem[48..96].copy_from_slice(&sub(8, 1, 0, 0, 0));
        assert_eq!(relative_clocks(&mem, 0, 2, 96), None);
    }
}
