//! Sharing work with one helper thread for the few passes that are big and independent
//! (vmlinux-sized BTF). Tasks are claimed, not assigned: whichever thread is free takes the
//! next one, so a helper that the OS schedules late (a busy machine) costs little, and the
//! calling thread alone finishes everything if no thread can be had. Results never depend on
//! which thread ran what.
//!
//! The helper is made once per process and sleeps on a channel between tasks. While the two
//! share work, the caller is held on its CPU and the helper barred from it. Without that, on
//! this project's 2-CPU KVM machine, a new or woken thread was often queued on its waker's
//! CPU while the other stayed idle, and the two took turns for milliseconds (measured;
//! rayon's pool did the same).

use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, OnceLock, PoisonError};

fn take<T>(slot: Mutex<Option<T>>) -> Option<T> {
    slot.into_inner().unwrap_or_else(PoisonError::into_inner)
}

fn put<T>(slot: &Mutex<Option<T>>, value: T) {
    *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(value);
}

type Task = Box<dyn FnOnce() + Send + 'static>;

thread_local! {
    /// Set on the helper thread: work it splits again must not wait for itself.
    static ON_HELPER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

struct Helper {
    tasks: Mutex<mpsc::Sender<Task>>,
    /// The helper's kernel thread id, for `steer`.
    tid: libc::pid_t,
}

/// The helper thread, or `None` when no thread can be made.
fn helper() -> Option<&'static Helper> {
    static HELPER: OnceLock<Option<Helper>> = OnceLock::new();
    HELPER
        .get_or_init(|| {
            let (tasks, inbox) = mpsc::channel::<Task>();
            let (ready, is_ready) = mpsc::channel();
            std::thread::Builder::new()
                .name("ecc-helper".into())
                .spawn(move || {
                    ON_HELPER.set(true);
                    // SAFETY: gettid has no preconditions.
                    let _ = ready.send(unsafe { libc::gettid() });
                    inbox.into_iter().for_each(|task| task());
                })
                .ok()?;
            // Waiting here lets the new thread run and go to sleep even if it was put on this
            // CPU.
            let tid = is_ready.recv().ok()?;
            Some(Helper {
                tasks: Mutex::new(tasks),
                tid,
            })
        })
        .as_ref()
}

/// Keeps this thread and the helper on different CPUs while they share work: this thread
/// stays on the CPU it is on, and the helper may use any other this thread may use. Without
/// the second half, a wake-up could put this thread beside the helper, where they took
/// turns for milliseconds. Best effort: on failure, or with one CPU allowed, nothing
/// changes. Dropping the result lets this thread move freely again.
fn steer(helper: &Helper) -> Option<Pinned> {
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: the sets are plain bit sets of `size` bytes that the calls below only read or
    // write within; CPU_SET/CPU_CLR get an index that sched_getcpu returned, and the kernel
    // keeps CPU numbers below CPU_SETSIZE.
    unsafe {
        let here = libc::sched_getcpu();
        let mut allowed: libc::cpu_set_t = std::mem::zeroed();
        if here < 0 || libc::sched_getaffinity(0, size, &mut allowed) != 0 {
            return None;
        }
        if libc::CPU_COUNT(&allowed) < 2 || !libc::CPU_ISSET(here as usize, &allowed) {
            return None;
        }
        let mut others = allowed;
        libc::CPU_CLR(here as usize, &mut others);
        if libc::sched_setaffinity(helper.tid, size, &others) != 0 {
            return None;
        }
        let mut only_here: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(here as usize, &mut only_here);
        (libc::sched_setaffinity(0, size, &only_here) == 0).then_some(Pinned(allowed))
    }
}

/// This thread's CPUs before `steer` pinned it, given back on drop (an unwind too).
struct Pinned(libc::cpu_set_t);

impl Drop for Pinned {
    fn drop(&mut self) {
        // SAFETY: a full cpu_set_t that sched_getaffinity filled in.
        unsafe {
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &self.0);
        }
    }
}

/// Makes the helper thread now, so that it is asleep and ready by the time big work comes
/// (binaries call this before reading their input).
pub fn warm_up() {
    helper();
}

/// Set by a task sent to the helper when it has finished, with its panic if it panicked.
#[derive(Default)]
struct Done {
    result: Mutex<Option<std::thread::Result<()>>>,
    cond: Condvar,
}

/// Waits for a task on the helper to finish, even while this thread unwinds: the task
/// borrows from this thread's stack.
struct WaitFor(Arc<Done>);

impl WaitFor {
    fn wait(&self) -> std::thread::Result<()> {
        let mut result = self.0.result.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(r) = result.take() {
                return r;
            }
            result = self
                .0
                .cond
                .wait(result)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

impl Drop for WaitFor {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = self.wait();
        }
    }
}

/// Runs `there` on the helper thread while `here` runs on this thread, or both here, `there`
/// second, when there is no helper; returns `here`'s result when both are done, re-raising a
/// panic from either.
pub(crate) fn split<R>(there: impl FnOnce() + Send, here: impl FnOnce() -> R) -> R {
    let Some(helper) = helper().filter(|_| !ON_HELPER.get()) else {
        let r = here();
        there();
        return r;
    };
    let done = Arc::new(Done::default());
    let task: Box<dyn FnOnce() + Send + '_> = {
        let done = Arc::clone(&done);
        Box::new(move || {
            let result = panic::catch_unwind(AssertUnwindSafe(there));
            *done.result.lock().unwrap_or_else(PoisonError::into_inner) = Some(result);
            done.cond.notify_one();
        })
    };
    // SAFETY: the task may borrow from the caller, which is why it is not 'static. Once sent,
    // it always runs to the end (panics are caught) and then sets `done`; this function does
    // not return or unwind past `wait` before that, so nothing it borrows is gone while it
    // runs. A task that cannot be sent is handed back and run here, before `wait` exists.
    let task = unsafe { std::mem::transmute::<Box<dyn FnOnce() + Send + '_>, Task>(task) };
    let pinned = steer(helper);
    let sent = helper
        .tasks
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .send(task);
    let (r, wait) = match sent {
        Ok(()) => {
            let wait = WaitFor(done);
            (here(), wait)
        }
        Err(mpsc::SendError(task)) => {
            let r = here();
            task();
            (r, WaitFor(done))
        }
    };
    let result = wait.wait();
    drop(pinned);
    if let Err(panic) = result {
        panic::resume_unwind(panic);
    }
    r
}

/// Has the kernel map the pages of `len` bytes at `addr` now (MADV_POPULATE_WRITE), so that
/// writes to them do not fault later; pages already mapped are left alone. Best effort: an
/// older kernel refuses, and nothing changes.
pub(crate) fn populate(addr: usize, len: usize) {
    const PAGE: usize = 4096;
    let start = addr.next_multiple_of(PAGE);
    let end = (addr + len) / PAGE * PAGE;
    if end > start {
        // SAFETY: the range lies within an allocation the caller owns; populating maps zero
        // pages where none are mapped and never changes memory that is, so no access the
        // program makes there, before or after, sees a difference.
        unsafe {
            libc::madvise(
                start as *mut libc::c_void,
                end - start,
                libc::MADV_POPULATE_WRITE,
            );
        }
    }
}

/// Runs `work` here and on the helper thread (if there is one) until it returns.
fn with_helper(work: impl Fn() + Sync) {
    split(&work, &work);
}

/// `(a(), b())`, the two possibly run at the same time.
pub(crate) fn join<A: Send, B: Send>(a: impl Fn() -> A + Sync, b: impl Fn() -> B + Sync) -> (A, B) {
    let next = AtomicUsize::new(0);
    let (ra, rb) = (Mutex::new(None), Mutex::new(None));
    with_helper(|| loop {
        match next.fetch_add(1, Ordering::Relaxed) {
            0 => put(&ra, a()),
            1 => put(&rb, b()),
            _ => break,
        }
    });
    // Every task ran unless a thread panicked (and then the scope re-raised the panic).
    (take(ra).unwrap_or_else(&a), take(rb).unwrap_or_else(&b))
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

/// Runs `produce` here while the helper thread consumes the work it hands to `send`; then
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
    fn join_returns_both_results_in_place() {
        assert_eq!(join(|| 1 + 1, || "b"), (2, "b"));
    }

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
    fn a_panic_on_either_thread_reaches_the_caller_and_the_helper_survives() {
        for panicking in 0..2 {
            // Either task may run on the helper; both ways must re-raise here.
            let r = panic::catch_unwind(|| {
                join(
                    || assert!(panicking != 0, "task a"),
                    || assert!(panicking != 1, "task b"),
                )
            });
            assert!(r.is_err(), "task {panicking}'s panic was lost");
        }
        // Work borrowed from this stack frame is still done by both threads afterwards.
        let data: Vec<u64> = (1..=1000).collect();
        let sum = |half: &[u64]| half.iter().sum::<u64>();
        assert_eq!(
            join(|| sum(&data[..500]), || sum(&data[500..])),
            (125_250, 375_250)
        );
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
    fn the_callers_cpus_are_given_back_after_shared_work() {
        let before = my_cpus();
        assert_eq!(join(|| 1, || 2), (1, 2));
        let r = panic::catch_unwind(|| join(|| panic!("a"), || panic!("b")));
        assert!(r.is_err());
        // SAFETY: both are full cpu_set_t values.
        assert!(unsafe { libc::CPU_EQUAL(&before, &my_cpus()) });
    }

    #[test]
    fn populating_memory_keeps_what_was_written_there() {
        let mut v: Vec<u8> = Vec::with_capacity(1 << 20);
        v.extend(std::iter::repeat_n(7u8, 5000));
        populate(v.as_ptr() as usize + 1, v.capacity() - 1);
        v.extend(std::iter::repeat_n(9u8, 1 << 19));
        assert!(v[..5000].iter().all(|&b| b == 7));
        assert!(v[5000..].iter().all(|&b| b == 9));
    }

    #[test]
    fn work_split_again_on_the_helper_does_not_wait_for_itself() {
        let inner = || join(|| join(|| 1, || 2), || join(|| 3, || 4));
        assert_eq!(join(inner, inner), (((1, 2), (3, 4)), ((1, 2), (3, 4))));
    }

    #[test]
    fn the_helper_does_work_while_this_thread_waits() {
        // `a` cannot finish until `b` has started, so the two must run on different threads.
        let started = std::sync::Barrier::new(2);
        let here = std::thread::current().id();
        let (a, b) = join(
            || {
                started.wait();
                std::thread::current().id()
            },
            || {
                started.wait();
                std::thread::current().id()
            },
        );
        assert_ne!(a, b);
        assert!(a == here || b == here);
    }
}
