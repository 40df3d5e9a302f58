//! Capturing libbpf's messages. libbpf prints through one process-wide callback, so a
//! capture holds a lock for as long as it runs: messages then belong to one load at a time.

use std::sync::{Mutex, MutexGuard, PoisonError};

use libbpf_rs::{set_print, PrintCallback, PrintLevel};

static ACTIVE: Mutex<()> = Mutex::new(());
static BUFFER: Mutex<String> = Mutex::new(String::new());

fn push(_level: PrintLevel, msg: String) {
    BUFFER
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push_str(&msg);
}

/// Collects libbpf warnings (verifier logs among them) until dropped, instead of letting
/// libbpf write them to stderr.
pub struct Capture {
    _active: MutexGuard<'static, ()>,
    prev: Option<(PrintLevel, PrintCallback)>,
}

impl Capture {
    pub fn start() -> Capture {
        let active = ACTIVE.lock().unwrap_or_else(PoisonError::into_inner);
        BUFFER
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        let prev = set_print(Some((PrintLevel::Warn, push)));
        Capture {
            _active: active,
            prev,
        }
    }

    /// Everything captured since the last `take`.
    pub fn take(&self) -> String {
        std::mem::take(&mut *BUFFER.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        set_print(self.prev.take());
    }
}
