//! Capturing libbpf's messages. libbpf prints through one process-wide callback, so a
//! capture holds a lock for as long as it runs: messages then belong to one load at a time.
//! With `echo` (`--verbose`), every message, debug ones included, is also copied to stderr
//! as it comes; the previous callback is restored when the capture ends.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use libbpf_rs::{set_print, PrintCallback, PrintLevel};

static ACTIVE: Mutex<()> = Mutex::new(());
static BUFFER: Mutex<String> = Mutex::new(String::new());
/// Settings of the capture that holds `ACTIVE` (the callback is a plain fn).
static ECHO: AtomicBool = AtomicBool::new(false);
static KEEP_LOGS: AtomicBool = AtomicBool::new(false);

fn push(level: PrintLevel, msg: String) {
    if ECHO.load(Ordering::Relaxed) {
        eprint!("{msg}");
    }
    // Debug messages are kept only when they carry a verifier log asked for (`--log`), so
    // the warnings that explain a failure are not drowned.
    let keep = !matches!(level, PrintLevel::Debug)
        || (KEEP_LOGS.load(Ordering::Relaxed) && msg.contains("-- BEGIN PROG LOAD LOG --"));
    if keep {
        BUFFER
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_str(&msg);
    }
}

/// Collects libbpf warnings (verifier logs among them) until dropped, instead of letting
/// libbpf write them to stderr.
pub struct Capture {
    _active: MutexGuard<'static, ()>,
    prev: Option<(PrintLevel, PrintCallback)>,
}

impl Capture {
    /// Warnings only, nothing echoed: what the Wasm host's loads need.
    #[cfg(feature = "wasm")]
    pub fn start() -> Capture {
        Capture::with(false, false)
    }

    /// `logs`: also keep the verifier logs libbpf prints at debug level (of programs that
    /// loaded with a log level set). `echo`: copy every message to stderr.
    pub fn with(logs: bool, echo: bool) -> Capture {
        let active = ACTIVE.lock().unwrap_or_else(PoisonError::into_inner);
        BUFFER
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        ECHO.store(echo, Ordering::Relaxed);
        KEEP_LOGS.store(logs, Ordering::Relaxed);
        let level = if logs || echo {
            PrintLevel::Debug
        } else {
            PrintLevel::Warn
        };
        let prev = set_print(Some((level, push)));
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
        ECHO.store(false, Ordering::Relaxed);
        KEEP_LOGS.store(false, Ordering::Relaxed);
    }
}
