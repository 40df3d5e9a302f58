//! `ecc build-wasm`: compiles a Wasm guest (the user-space side of an eBPF program) for
//! `wasm32-wasi` with Debian's clang, wasi-libc, compiler-rt for wasm32 and lld, with our
//! guest SDK (`sdk/`, embedded in the binary) on the include path.
//!
//! The SDK headers are written once to a content-addressed directory in the cache, so the
//! include path is stable across runs and several builds may share it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use super::compile::{self, find_clang};

/// The guest SDK: file name and contents.
pub const SDK: &[(&str, &str)] = &[("libbpf-wasm.h", include_str!("../../sdk/libbpf-wasm.h"))];

/// The host functions a guest may leave undefined at link time (module `wasm_bpf`); any
/// other undefined symbol is a link error, as it should be.
pub const HOST_IMPORTS: &[&str] = &[
    "wasm_load_bpf_object",
    "wasm_attach_bpf_program",
    "wasm_bpf_buffer_poll",
    "wasm_bpf_map_fd_by_name",
    "wasm_bpf_map_operate",
    "wasm_close_bpf_object",
];

const IMPORTS_FILE: &str = "wasm_bpf.imports";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Clang(#[from] compile::Error),
    #[error("{what} for wasm32 not found ({probe}); install the Debian package {package}")]
    Missing {
        what: &'static str,
        probe: String,
        package: &'static str,
    },
    #[error("{0}: no such source file")]
    NoSource(PathBuf),
    #[error("no source file given")]
    NoSources,
    #[error("{0}")]
    Io(PathBuf, #[source] std::io::Error),
}

/// What to build.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub sources: Vec<PathBuf>,
    /// Default: the first source's stem with `.wasm`, beside it.
    pub output: Option<PathBuf>,
    /// Passed to clang after ours.
    pub clang_args: Vec<OsString>,
    pub clang: Option<PathBuf>,
    /// Where the SDK headers are kept; `None` uses a fresh temp directory.
    pub cache_dir: Option<PathBuf>,
}

/// The output path for `req`.
pub fn output_path(req: &Request) -> Result<PathBuf, Error> {
    if let Some(o) = &req.output {
        return Ok(o.clone());
    }
    let first = req.sources.first().ok_or(Error::NoSources)?;
    Ok(first.with_extension("wasm"))
}

/// Writes the SDK into `<root>/wasm-sdk-<hash>/` unless it is there already, and returns
/// that directory.
pub fn sdk_dir(root: &Path) -> Result<PathBuf, Error> {
    let mut h = Sha256::new();
    for (name, text) in SDK {
        h.update(name.as_bytes());
        h.update([0]);
        h.update(text.as_bytes());
        h.update([0]);
    }
    let hash: String = h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let dir = root.join(format!("wasm-sdk-{hash}"));
    std::fs::create_dir_all(&dir).map_err(|e| Error::Io(dir.clone(), e))?;
    let imports = HOST_IMPORTS.join("\n") + "\n";
    let files = SDK
        .iter()
        .map(|(n, t)| (*n, t.as_bytes()))
        .chain([(IMPORTS_FILE, imports.as_bytes())]);
    for (name, bytes) in files {
        let p = dir.join(name);
        if std::fs::read(&p).ok().as_deref() != Some(bytes) {
            crate::util::fs::write_atomic(&p, bytes).map_err(|e| Error::Io(p.clone(), e))?;
        }
    }
    Ok(dir)
}

/// Asks clang where the wasm32 pieces are, so a missing one is named before compiling.
fn check_toolchain(clang: &Path) -> Result<(), Error> {
    let ask = |args: &[&str]| -> Result<String, Error> {
        let out = Command::new(clang)
            .arg("--target=wasm32-wasi")
            .args(args)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .map_err(|e| Error::Clang(compile::Error::Spawn(clang.to_path_buf(), e)))?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let checks: [(&[&str], &str, &str); 3] = [
        (&["-print-file-name=libc.a"], "the C library", "wasi-libc"),
        (
            &["-rtlib=compiler-rt", "-print-libgcc-file-name"],
            "compiler-rt builtins",
            "libclang-rt-14-dev-wasm32",
        ),
        (&["-print-prog-name=wasm-ld"], "the linker wasm-ld", "lld"),
    ];
    for (args, what, package) in checks {
        let found = ask(args)?;
        if !Path::new(&found).is_absolute() || !Path::new(&found).exists() {
            return Err(Error::Missing {
                what,
                probe: format!("clang {} printed '{found}'", args.join(" ")),
                package,
            });
        }
    }
    Ok(())
}

/// The clang command line (after the binary) for `req`, writing to `out`.
pub fn clang_args(req: &Request, sdk: &Path, out: &Path) -> Vec<OsString> {
    let mut a: Vec<OsString> = ["--target=wasm32-wasi", "-O2", "-I"]
        .iter()
        .map(OsString::from)
        .collect();
    a.push(sdk.into());
    for s in &req.sources {
        a.push(s.into());
    }
    a.push("-Wl,--export-table".into());
    let mut allow = OsString::from("-Wl,--allow-undefined-file=");
    allow.push(sdk.join(IMPORTS_FILE));
    a.push(allow);
    a.extend(req.clang_args.iter().cloned());
    a.push("-o".into());
    a.push(out.into());
    a
}

/// Compiles the guest; returns the path written.
pub fn build(req: &Request) -> Result<PathBuf, Error> {
    if req.sources.is_empty() {
        return Err(Error::NoSources);
    }
    if let Some(s) = req.sources.iter().find(|s| !s.is_file()) {
        return Err(Error::NoSource(s.clone()));
    }
    let clang = find_clang(req.clang.as_deref())?;
    check_toolchain(&clang)?;
    let scratch = tempfile::tempdir().map_err(|e| Error::Io(std::env::temp_dir(), e))?;
    let sdk = match &req.cache_dir {
        Some(c) => sdk_dir(c).or_else(|_| sdk_dir(scratch.path()))?,
        None => sdk_dir(scratch.path())?,
    };
    let out = output_path(req)?;
    // clang writes a temp file beside the output; the rename makes it appear whole.
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".ecc-")
        .suffix(".wasm.tmp")
        .permissions(crate::util::fs::new_file_mode())
        .tempfile_in(&dir)
        .map_err(|e| Error::Io(dir.clone(), e))?;
    let display = req
        .sources
        .iter()
        .map(|s| s.display().to_string())
        .collect::<Vec<_>>()
        .join(" ");
    compile::run(
        &clang,
        &clang_args(req, &sdk, tmp.path()),
        None,
        &display,
        None,
        std::process::Stdio::inherit(),
    )?;
    tmp.persist(&out)
        .map_err(|e| Error::Io(out.clone(), e.error))?;
    Ok(out)
}
