//! ecc: compiles an eBPF C program into `<name>.bpf.o` and a package.json that the eunomia
//! runtime runs. Command line compatible with the original ecc:
//!   ecc [OPTIONS] <SOURCE_PATH> [EXPORT_EVENT_HEADER] [-- <extra clang args>...]

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
#[cfg(feature = "loader")]
use std::sync::atomic::AtomicBool;

use anyhow::Result;
use clap::Parser;

use ecc::build::driver::{self, Request};

#[derive(Parser, Debug)]
#[command(
    name = "ecc",
    version,
    about = "Compile an eBPF C program into a BPF object and a eunomia package.json",
    after_help = "Outputs, in the output directory: <name>.bpf.o (DWARF stripped, BTF kept), \
                  <name>.skel.json (the package's meta), package.json, and with --wasm-header ewasm-skel.h.\n\n\
                  Also: ecc verify <package.json|X.bpf.o> [--btf FILE] [--json]   load every program, print the verdicts\n      \
                  ecc run [--json] [--duration SECS] <package.json|REF> [program options]   attach and print events\n      \
                  ecc login REGISTRY -u USER --password-stdin | ecc logout REGISTRY   registry credentials\n      \
                  ecc push <package.json|APP.wasm> REF | ecc pull REF [-o DIR]   ship through OCI registries"
)]
struct Cli {
    /// The BPF C source (with --header-only: the header)
    source_path: PathBuf,
    /// Header whose structs the runtime uses to decode events (first struct first)
    export_event_header: Option<PathBuf>,
    /// Output directory (created if missing; default: the source's directory)
    #[arg(short = 'o', long, value_name = "DIR")]
    output_path: Option<PathBuf>,
    /// Print each step, its time and the clang command line
    #[arg(short, long)]
    verbose: bool,
    /// Compile only the header's structs into BTF (SOURCE_PATH is the header)
    #[arg(long)]
    header_only: bool,
    /// Also write ewasm-skel.h, package.json as a C string for Wasm programs
    #[arg(long)]
    wasm_header: bool,
    /// Extra clang flags (repeatable; each value is split on whitespace, as the original did)
    #[arg(short = 'a', long, value_name = "FLAG", allow_hyphen_values = true)]
    additional_cflags: Vec<String>,
    /// clang binary (path or name in PATH; default: clang)
    #[arg(short = 'c', long, value_name = "PATH")]
    clang_bin: Option<PathBuf>,
    /// Strip DWARF with this llvm-strip instead of the built-in stripper
    #[arg(short = 'l', long, value_name = "PATH")]
    llvm_strip_bin: Option<PathBuf>,
    /// Do not write package.json
    #[arg(short = 'n', long)]
    no_generate_package_json: bool,
    /// Kernel BTF for vmlinux.h (default: /sys/kernel/btf/vmlinux), e.g. another machine's
    #[arg(long, value_name = "FILE")]
    btf: Option<PathBuf>,
    /// Architecture for __TARGET_ARCH_* (x86, arm64, riscv, ...; default: this host's)
    #[arg(long, value_name = "ARCH")]
    target_arch: Option<String>,
    /// Write a make-style dependency file listing every file clang read
    #[arg(short = 'M', long, value_name = "FILE")]
    depfile: Option<PathBuf>,
    /// Directory holding libbpf's headers (bpf/bpf_helpers.h), searched before the system's
    #[arg(long, value_name = "DIR")]
    libbpf_include: Option<PathBuf>,
    /// Extra clang arguments, passed as they are
    #[arg(last = true, value_name = "CLANG_ARGS")]
    clang_args: Vec<String>,
}

type Subcommand = fn(Vec<OsString>) -> Result<()>;

/// Subcommands other than the compile, chosen by the first argument.
const SUBCOMMANDS: &[(&str, Subcommand)] = &[
    ("verify", verify),
    ("run", run),
    #[cfg(feature = "oci")]
    ("login", |a| {
        lib_main(|a| ecc::oci::cli::main_login(a, &oci_env()), a)
    }),
    #[cfg(feature = "oci")]
    ("logout", |a| {
        lib_main(|a| ecc::oci::cli::main_logout(a, &oci_env()), a)
    }),
    #[cfg(feature = "oci")]
    ("push", |a| {
        lib_main(|a| ecc::oci::cli::main_push(a, &oci_env()), a)
    }),
    #[cfg(feature = "oci")]
    ("pull", |a| {
        lib_main(|a| ecc::oci::cli::main_pull(a, &oci_env()), a)
    }),
];

/// Runs a library command line (which prints its own errors) on the arguments after the
/// subcommand word, and exits with its status.
#[cfg(feature = "loader")]
fn lib_main(main: fn(Vec<OsString>) -> i32, args: Vec<OsString>) -> Result<()> {
    std::process::exit(main(args[1..].to_vec()))
}

/// Where registry credentials and pulled files live, from the environment as docker and
/// the XDG rules say: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`; the cache
/// under `$XDG_CACHE_HOME/ecc/oci`, else `~/.cache/ecc/oci`.
#[cfg(feature = "oci")]
fn oci_env() -> ecc::oci::Env {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let docker_config = var("DOCKER_CONFIG")
        .map(|d| d.join("config.json"))
        .or_else(|| var("HOME").map(|h| h.join(".docker").join("config.json")));
    ecc::oci::Env {
        docker_config,
        cache: ecc::build::vmlinux::cache_root().map(|c| c.join("oci")),
    }
}

/// `ecc verify` and `ecc run` live in the library; they print their own errors and choose
/// the exit status (1 for a rejection or bad input, 0 for success and `-h`).
#[cfg(feature = "loader")]
fn verify(args: Vec<OsString>) -> Result<()> {
    lib_main(ecc::runner::cli::main_verify, args)
}

/// Set by SIGINT/SIGTERM; the runner checks it at least every 100 ms and then detaches.
#[cfg(feature = "loader")]
static STOP: AtomicBool = AtomicBool::new(false);

#[cfg(feature = "loader")]
fn run(args: Vec<OsString>) -> Result<()> {
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, &STOP)?;
    }
    #[cfg(feature = "oci")]
    let registry = oci_env();
    let host = ecc::runner::cli::Host {
        stop: &STOP,
        mount_tracefs: Some(mount_tracefs),
        #[cfg(feature = "oci")]
        registry: &registry,
    };
    std::process::exit(ecc::runner::cli::main_run(args[1..].to_vec(), host))
}

/// Mounts tracefs at /sys/kernel/tracing; tracepoint attach fails with ENOENT without it.
#[cfg(feature = "loader")]
fn mount_tracefs() -> std::io::Result<()> {
    // SAFETY: all pointers are NUL-terminated static strings; data may be NULL.
    let rc = unsafe {
        libc::mount(
            c"tracefs".as_ptr(),
            c"/sys/kernel/tracing".as_ptr(),
            c"tracefs".as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(not(feature = "loader"))]
fn verify(_: Vec<OsString>) -> Result<()> {
    anyhow::bail!("ecc was built without the `loader` feature, which `ecc verify` needs")
}

#[cfg(not(feature = "loader"))]
fn run(_: Vec<OsString>) -> Result<()> {
    anyhow::bail!("ecc was built without the `loader` feature, which `ecc run` needs")
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let sub = args.get(1).and_then(|a| {
        SUBCOMMANDS
            .iter()
            .find(|(name, _)| a.to_str() == Some(name))
    });
    let result = match sub {
        Some((_, f)) => f(args[1..].to_vec()),
        None => compile(Cli::parse_from(args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ecc: error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn compile(cli: Cli) -> Result<()> {
    // Point clang-sys at the libclang of the clang in use, unless the user chose one. Done
    // here, before any thread exists, because it sets an environment variable.
    if std::env::var_os("LIBCLANG_PATH").is_none() {
        let lib = ecc::build::compile::find_clang(cli.clang_bin.as_deref())
            .ok()
            .and_then(|c| ecc::build::compile::libclang_for(&c));
        if let Some(lib) = lib {
            std::env::set_var("LIBCLANG_PATH", lib);
        }
    }
    let mut cflags: Vec<String> = cli
        .additional_cflags
        .iter()
        .flat_map(|a| a.split_whitespace().map(str::to_string))
        .collect();
    cflags.extend(cli.clang_args);
    let req = Request {
        source: cli.source_path,
        header: cli.export_event_header,
        output_dir: cli.output_path,
        header_only: cli.header_only,
        wasm_header: cli.wasm_header,
        package_json: !cli.no_generate_package_json,
        clang: cli.clang_bin,
        llvm_strip: cli.llvm_strip_bin,
        btf: cli.btf,
        target_arch: cli.target_arch,
        depfile: cli.depfile,
        libbpf_include: cli.libbpf_include,
        cflags,
        cache_dir: None,
    };
    let verbose = cli.verbose;
    let log = move |line: &str| {
        if verbose {
            eprintln!("ecc: {line}");
        }
    };
    let outcome = driver::build(&req, &log)?;
    for w in &outcome.warnings {
        eprintln!("ecc: warning: {w}");
    }
    for p in &outcome.written {
        log(&format!("wrote {}", p.display()));
    }
    Ok(())
}
