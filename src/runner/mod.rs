//! The verification runtime: `ecc verify` loads every program of a package or object into
//! the kernel verifier; `ecc run` loads, attaches and prints events or histograms.
//!
//! Pure parts (decoding samples, histograms, verifier-log reading, option parsing) are kept
//! apart from the parts that talk to libbpf (`verify`, `run`).

pub mod attach;
mod capture;
pub mod cli;
pub mod decode;
pub mod dump;
pub mod export;
pub mod failure;
pub mod hist;
pub mod input;
pub mod kernel_btf;
pub mod metrics;
pub mod options;
pub mod print;
pub mod run;
mod sys;
pub mod verify;
pub mod vlog;
#[cfg(feature = "wasm")]
pub mod wasm;

use std::path::Path;

use libbpf_rs::{ObjectBuilder, OpenObject};

pub use input::{read_input, Input};

/// Loader errors. Each names the file (or program) it is about.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {msg}")]
    Input { path: String, msg: String },
    #[error("{path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a BPF object or a package.json (line {}, column {}: {source})", .source.line(), .source.column())]
    Json {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: {source}")]
    Object {
        path: String,
        #[source]
        source: crate::elf::object::Error,
    },
    #[error("{0}")]
    Usage(String),
    /// A resource the run needs could not be had (a taken `--metrics` port): a failure, not
    /// a usage error.
    #[error("{0}")]
    Unavailable(String),
    #[error("{what}: {msg}")]
    Libbpf { what: String, msg: String },
    /// The verifier rejected programs; the report says which and why.
    #[error("{}: {}", .0.file, .0.summary())]
    Rejected(Box<verify::Report>),
}

impl Error {
    pub fn input(path: &Path, msg: impl Into<String>) -> Error {
        Error::Input {
            path: path.display().to_string(),
            msg: msg.into(),
        }
    }

    /// The object in `input` does not parse.
    pub fn object(path: &Path, source: crate::elf::object::Error) -> Error {
        Error::Object {
            path: path.display().to_string(),
            source,
        }
    }
}

/// Opens the object under the name its package gives it, so internal maps get the names
/// the package's metadata uses.
fn open(input: &Input, btf: Option<&Path>, verbose: bool) -> Result<OpenObject, Error> {
    let mut b = ObjectBuilder::default();
    b.name(&input.obj_name)
        .map_err(|e| Error::input(&input.path, format!("bad obj_name: {e:#}")))?;
    if let Some(p) = btf {
        if !p.exists() {
            return Err(Error::input(p, "no such file"));
        }
        b.btf_custom_path(p)
            .map_err(|e| Error::input(p, format!("{e:#}")))?;
    }
    let cap = capture::Capture::with(false, verbose);
    b.open_memory(&input.elf).map_err(|e| {
        let msgs = vlog::libbpf_messages(&cap.take());
        Error::input(
            &input.path,
            match msgs.last() {
                Some(w) => format!("libbpf cannot open the object: {e:#} ({w})"),
                None => format!("libbpf cannot open the object: {e:#}"),
            },
        )
    })
}

/// The kernel's name for a program type (`tracepoint`, `raw_tracepoint`, `xdp`, …), as
/// bpftool prints it.
pub fn prog_type_name(t: libbpf_rs::ProgramType) -> String {
    let debug = format!("{t:?}");
    let mut out = String::new();
    for (i, c) in debug.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_type_names() {
        use libbpf_rs::ProgramType as P;
        assert_eq!(prog_type_name(P::Tracepoint), "tracepoint");
        assert_eq!(prog_type_name(P::RawTracepoint), "raw_tracepoint");
        assert_eq!(prog_type_name(P::SocketFilter), "socket_filter");
        assert_eq!(prog_type_name(P::Xdp), "xdp");
        assert_eq!(prog_type_name(P::PerfEvent), "perf_event");
    }
}
