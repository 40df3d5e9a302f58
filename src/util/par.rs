//! Sharing work with a second thread for the few passes that are big and independent
//! (vmlinux-sized BTF), on `std::thread::scope`. Tasks are claimed, not assigned: whichever
//! thread is free takes the next one, so a thread that the OS schedules late (a busy machine)
//! costs little, and the calling thread alone finishes everything if no thread can be made.
//! Results never depend on which thread ran what.
//!
//! The helper is our own thread and lives only for one call. Its first act is to move off
//! the caller's CPU onto any other one the caller may use: Linux tends to queue a new thread
//! on its creator's CPU, where the two take turns (for milliseconds, as `perf sched
//! timehist` shows) while another CPU idles. The caller's own affinity is never changed, so
//! the library may run on a caller's worker thread.

use std::collections::VecDeque;
use std::panic;
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// Runs `there` on a scoped thread while `here` runs on this thread; returns `here`'s result
/// when both are done, re-raising a panic from either. `there` is claimed, not assigned:
/// if the thread has not started it by the time `here` is done (it cannot be made, or the
/// OS has not run it yet), it runs here, second.
pub(crate) fn split<R>(there: impl FnOnce() + Send, here: impl FnOnce() -> R) -> R {
    let slot = Mutex::new(Some(there));
    let run_there = || {
        // Taken out before it runs, so that the lock is not held meanwhile.
        let there = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(there) = there {
            there();
        }
    };
    let elsewhere = other_cpus();
    std::thread::scope(|s| {
        let helper = std::thread::Builder::new()
            .name("ecc-helper".into())
            .spawn_scoped(s, || {
                if let Some(cpus) = &elsewhere {
                    keep_to(cpus);
                }
                run_there();
            });
        if helper.is_ok() && elsewhere.is_some() {
            // Lets a helper queued on this CPU run now and move itself away.
            std::thread::yield_now();
        }
        let r = here();
        run_there();
        if let Ok(h) = helper {
            if let Err(panic) = h.join() {
                panic::resume_unwind(panic);
            }
        }
        r
    })
}

/// The CPUs this thread may use other than the one it runs on, if there are any.
fn other_cpus() -> Option<libc::cpu_set_t> {
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: sched_getcpu has no preconditions; the set is a plain bit set of `size` bytes
    // that sched_getaffinity fills in; CPU_ISSET/CPU_CLR get an index checked to lie below
    // CPU_SETSIZE.
    unsafe {
        let here = usize::try_from(libc::sched_getcpu()).ok()?;
        let mut allowed: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, size, &mut allowed) != 0
            || here >= usize::try_from(libc::CPU_SETSIZE).ok()?
            || !libc::CPU_ISSET(here, &allowed)
        {
            return None;
        }
        libc::CPU_CLR(here, &mut allowed);
        (libc::CPU_COUNT(&allowed) > 0).then_some(allowed)
    }
}

/// Restricts the calling thread (the helper, never the library's caller) to `cpus`. Best
/// effort: on failure the thread stays where the OS put it.
fn keep_to(cpus: &libc::cpu_set_t) {
    // SAFETY: a full cpu_set_t, read by the kernel within its size.
    unsafe {
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), cpus);
    }
}

/// How long a thread that waits for the other spins before it sleeps: waking a thread whose
/// CPU went idle can take milliseconds (a virtual CPU must be scheduled again), longer than
/// the waits here usually are.
const SPIN: Duration = Duration::from_millis(2);

/// `cell`'s value, once another thread has set it.
pub(crate) fn wait_for<T>(cell: &OnceLock<T>) -> &T {
    let start = Instant::now();
    while cell.get().is_none() && start.elapsed() < SPIN {
        for _ in 0..64 {
            std::hint::spin_loop();
        }
    }
    cell.wait()
}

/// Work handed out by a producer and the results, by the order it was handed out.
struct Line<W, T> {
    /// Indexes into `work` not yet claimed.
    pending: VecDeque<usize>,
    work: Vec<(Arc<W>, Option<T>)>,
    /// How many results (a prefix of `work`) have been delivered.
    delivered: usize,
    produced: bool,
}

/// Runs `produce` here while the second thread consumes the work it hands to `send`; then
/// both consume what is left. `consume`'s results reach `deliver`, on this thread, in the
/// order the work was sent, as soon as they are ready, so that their memory can be reused.
/// Each thread makes its own consumer state with `init`, once, before it takes any work.
pub(crate) fn pipeline<W: Send + Sync, S, T: Send>(
    produce: impl FnOnce(&mut dyn FnMut(W)),
    init: impl Fn() -> S + Sync,
    consume: impl Fn(&mut S, &W) -> T + Sync,
    mut deliver: impl FnMut(T),
) {
    let line = Mutex::new(Line {
        pending: VecDeque::new(),
        work: Vec::new(),
        delivered: 0,
        produced: false,
    });
    let ready = Condvar::new();
    let lock = || line.lock().unwrap_or_else(PoisonError::into_inner);
    // Takes work as long as there is some; waits for more only while production goes on.
    let consume_all = |after_each: &mut dyn FnMut()| {
        // Made before the first wait, so that work `init` does overlaps production.
        let mut state = init();
        loop {
            let mut guard = lock();
            let i = loop {
                if let Some(i) = guard.pending.pop_front() {
                    break Some(i);
                }
                if guard.produced {
                    break None;
                }
                guard = ready.wait(guard).unwrap_or_else(PoisonError::into_inner);
            };
            let Some(work) = i.and_then(|i| guard.work.get(i).map(|(w, _)| (i, Arc::clone(w))))
            else {
                break;
            };
            drop(guard);
            let result = consume(&mut state, &work.1);
            if let Some(slot) = lock().work.get_mut(work.0) {
                slot.1 = Some(result);
            }
            after_each();
        }
    };
    // Hands the results that are ready, in order, to `deliver` (outside the lock).
    let deliver_ready = |deliver: &mut dyn FnMut(T)| {
        let batch: Vec<T> = {
            let mut guard = lock();
            let mut batch = Vec::new();
            while let Some(result) = {
                let next = guard.delivered;
                guard.work.get_mut(next).and_then(|(_, r)| r.take())
            } {
                batch.push(result);
                guard.delivered += 1;
            }
            batch
        };
        batch.into_iter().for_each(deliver);
    };
    // Ends production however `produce` ends (a panic too), so that the helper stops waiting.
    struct EndOfProduction<'l, W, T>(&'l Mutex<Line<W, T>>, &'l Condvar);
    impl<W, T> Drop for EndOfProduction<'_, W, T> {
        fn drop(&mut self) {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .produced = true;
            self.1.notify_all();
        }
    }
    let run = || {
        let end = EndOfProduction(&line, &ready);
        produce(&mut |w| {
            {
                let mut guard = lock();
                let i = guard.work.len();
                guard.work.push((Arc::new(w), None));
                guard.pending.push_back(i);
            }
            ready.notify_one();
            deliver_ready(&mut deliver);
        });
        drop(end);
        consume_all(&mut || deliver_ready(&mut deliver));
    };
    split(|| consume_all(&mut || {}), run);
    // Both threads have finished: deliver the rest. Everything was consumed (a panic in a
    // consumer is re-raised by `split`), but consuming here is the fallback.
    let line = line.into_inner().unwrap_or_else(PoisonError::into_inner);
    let mut state = None;
    for (w, r) in line.work.into_iter().skip(line.delivered) {
        deliver(r.unwrap_or_else(|| consume(state.get_or_insert_with(&init), &w)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipeline_delivers_results_in_the_order_work_was_sent() {
        let mut out = Vec::new();
        pipeline(
            |send| (0..100).for_each(send),
            Vec::<usize>::new,
            |seen, &i| {
                seen.push(i);
                i * 2
            },
            |r| out.push(r),
        );
        assert_eq!(out, (0..100).map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn a_panic_on_either_thread_reaches_the_caller() {
        let r = panic::catch_unwind(|| split(|| panic!("there"), || 1));
        assert!(r.is_err(), "the helper's panic was lost");
        let r = panic::catch_unwind(|| split(|| {}, || panic!("here")));
        assert!(r.is_err(), "this thread's panic was lost");
        // Work borrowed from this stack frame is still done afterwards.
        let data: Vec<u64> = (1..=1000).collect();
        let sum = |half: &[u64]| half.iter().sum::<u64>();
        let mut low = 0;
        let high = split(|| low = sum(&data[..500]), || sum(&data[500..]));
        assert_eq!((low, high), (125_250, 375_250));
    }

    #[test]
    fn the_helper_does_work_while_this_thread_waits() {
        // Neither side can finish until the other has started, so they run on two threads.
        let started = std::sync::Barrier::new(2);
        let here = std::thread::current().id();
        let mut there = None;
        let ran_here = split(
            || {
                started.wait();
                there = Some(std::thread::current().id());
            },
            || {
                started.wait();
                std::thread::current().id()
            },
        );
        assert_eq!(ran_here, here);
        assert!(there.is_some_and(|t| t != here));
    }

    fn my_cpus() -> libc::cpu_set_t {
        // SAFETY: a zeroed cpu_set_t is a valid empty set that the call fills in.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set);
            set
        }
    }

    #[test]
    fn the_helper_keeps_off_one_cpu_and_this_threads_cpus_stay() {
        let before = my_cpus();
        let here = std::thread::current().id();
        let mut helpers = None;
        split(
            || helpers = Some((my_cpus(), std::thread::current().id() != here)),
            || {},
        );
        // SAFETY: full cpu_set_t values, indexes below CPU_SETSIZE.
        unsafe {
            assert!(libc::CPU_EQUAL(&before, &my_cpus()));
            let (helpers, on_helper) = helpers.expect("the helper's work ran");
            let mut all = helpers;
            let count = libc::CPU_COUNT(&before);
            // The helper may use all of this thread's CPUs but the one it ran on, if any.
            for cpu in 0..libc::CPU_SETSIZE as usize {
                if libc::CPU_ISSET(cpu, &before) {
                    libc::CPU_SET(cpu, &mut all);
                }
            }
            assert!(
                libc::CPU_EQUAL(&all, &before),
                "the helper left this thread's CPUs"
            );
            // (Work the helper had not started by then ran here, on this thread's CPUs.)
            let expected = if count >= 2 && on_helper {
                count - 1
            } else {
                count
            };
            assert_eq!(libc::CPU_COUNT(&helpers), expected);
        }
    }

    #[test]
    fn waiting_sees_a_value_set_after_the_spin() {
        let cell = OnceLock::new();
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(SPIN * 3);
                let _ = cell.set(7);
            });
            assert_eq!(*wait_for(&cell), 7);
        });
    }
}
