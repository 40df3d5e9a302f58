//! The compile as a library call, for a `build.rs` (in the manner of libbpf-cargo's
//! `SkeletonBuilder`):
//!
//! ```no_run
//! let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
//! let built = ecc::build::Build::new("src/prog.bpf.c")
//!     .header("src/event.h")
//!     .out_dir(&out)
//!     .run()
//!     .expect("ecc");
//! for input in &built.inputs {
//!     println!("cargo:rerun-if-changed={}", input.display());
//! }
//! ```
//!
//! Nothing process-wide happens: no signal handler, no environment change. libclang (for doc
//! comments) is found by clang-sys as usual (`LIBCLANG_PATH` or its search); a run that
//! should stop early gets a flag through `stop`.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::build::driver::{self, Error, Outcome, Request};

/// A compile of one BPF C source; `run` writes the outputs and says what it wrote.
#[derive(Clone, Debug)]
pub struct Build {
    req: Request,
}

/// Setters of the request's optional values: `method(v)` sets `field` to `Some(v.into())`.
macro_rules! optional_setters {
    ($($(#[$doc:meta])* $method:ident => $field:ident: $ty:ty;)*) => {
        $(
            $(#[$doc])*
            pub fn $method(mut self, value: impl Into<$ty>) -> Build {
                self.req.$field = Some(value.into());
                self
            }
        )*
    };
}

impl Build {
    /// A compile of `source` into the source's directory, writing `package.json`.
    pub fn new(source: impl Into<PathBuf>) -> Build {
        Build {
            req: Request {
                source: source.into(),
                package_json: true,
                ..Request::default()
            },
        }
    }

    optional_setters! {
        /// The event header whose structs the runtime decodes (first struct first).
        header => header: PathBuf;
        /// Where the outputs go (created when missing).
        out_dir => output_dir: PathBuf;
        /// The clang binary (a path, or a name looked up in `PATH`).
        clang => clang: PathBuf;
        /// Kernel BTF for `vmlinux.h` instead of the running kernel's.
        btf => btf: PathBuf;
        /// The `__TARGET_ARCH_*` architecture (default: the host's).
        target_arch => target_arch: String;
        /// The cache for `vmlinux.h` and its precompiled form (default: `~/.cache/ecc`).
        cache_dir => cache_dir: PathBuf;
        /// A make dependency file to write as well.
        depfile => depfile: PathBuf;
    }

    /// One extra clang flag, passed as it is.
    pub fn cflag(mut self, flag: impl Into<String>) -> Build {
        self.req.cflags.push(flag.into());
        self
    }

    /// Also write `ewasm-skel.h`, the package as a C string for Wasm programs.
    pub fn wasm_header(mut self, on: bool) -> Build {
        self.req.wasm_header = on;
        self
    }

    /// A flag that, once set (from another thread or a signal handler of the caller's),
    /// stops the compile: clang is killed and nothing is written.
    pub fn stop(mut self, flag: Arc<AtomicBool>) -> Build {
        self.req.stop = Some(flag);
        self
    }

    /// The resolved request, for callers that want to adjust what the builder has no
    /// method for.
    pub fn request(&mut self) -> &mut Request {
        &mut self.req
    }

    /// Runs the compile: the files written, the warnings, and every input file (source and
    /// headers, for `cargo:rerun-if-changed`).
    pub fn run(&self) -> Result<Outcome, Error> {
        driver::build(&self.req, &|_| {})
    }
}
