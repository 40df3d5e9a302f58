//! Two-way fork/join for the few passes that are independent and big enough to split
//! (vmlinux-sized BTF on a multi-core machine). Results never depend on the split.

/// Runs `a` here and `b` on a second thread, or both here when the OS refuses a thread.
/// `b` is `Fn` so that it can still run here after a failed spawn.
pub(crate) fn join<A, B: Send>(a: impl FnOnce() -> A, b: impl Fn() -> B + Sync) -> (A, B) {
    std::thread::scope(|s| match std::thread::Builder::new().spawn_scoped(s, &b) {
        Ok(worker) => {
            let ra = a();
            // A panic on the worker is a bug; raise it here rather than hide it.
            let rb = worker
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e));
            (ra, rb)
        }
        Err(_) => (a(), b()),
    })
}
