//! Sharing work with one helper thread for the few passes that are big and independent
//! (vmlinux-sized BTF). Tasks are claimed, not assigned: whichever thread is free takes the
//! next one, so a helper that the OS schedules late (a busy machine) costs little, and the
//! calling thread alone finishes everything if no thread can be had. Results never depend on
//! which thread ran what.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

fn take<T>(slot: Mutex<Option<T>>) -> Option<T> {
    slot.into_inner().unwrap_or_else(PoisonError::into_inner)
}

fn put<T>(slot: &Mutex<Option<T>>, value: T) {
    *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(value);
}

/// Runs `work` here and on one helper thread (if the OS gives one) until it returns.
fn with_helper(work: impl Fn() + Sync) {
    std::thread::scope(|s| {
        // Without a helper, this thread does all the work; a panic in the helper is
        // re-raised when the scope ends.
        let _helper = std::thread::Builder::new().spawn_scoped(s, &work);
        work();
    });
}

/// `(a(), b())`, the two possibly run at the same time.
pub(crate) fn join<A: Send, B: Send>(
    a: impl Fn() -> A + Sync,
    b: impl Fn() -> B + Sync,
) -> (A, B) {
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

/// `task(&mut state, i)` for `i` in `0..n`, in order of `i`; each thread makes its own
/// `state` with `init` once.
pub(crate) fn map_with<S, T: Send>(
    n: usize,
    init: impl Fn() -> S + Sync,
    task: impl Fn(&mut S, usize) -> T + Sync,
) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<T>>> = (0..n).map(|_| Mutex::new(None)).collect();
    with_helper(|| {
        let mut state = None;
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(slot) = slots.get(i) else { break };
            let state = state.get_or_insert_with(&init);
            put(slot, task(state, i));
        }
    });
    let mut state = None;
    slots
        .into_iter()
        .enumerate()
        .map(|(i, slot)| take(slot).unwrap_or_else(|| task(state.get_or_insert_with(&init), i)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_returns_both_results_in_place() {
        assert_eq!(join(|| 1 + 1, || "b"), (2, "b"));
    }

    #[test]
    fn map_with_keeps_task_order_and_runs_each_task_once() {
        let runs = AtomicUsize::new(0);
        let out = map_with(
            100,
            Vec::<usize>::new,
            |seen, i| {
                runs.fetch_add(1, Ordering::Relaxed);
                seen.push(i);
                i * 2
            },
        );
        assert_eq!(out, (0..100).map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(runs.load(Ordering::Relaxed), 100);
    }
}
