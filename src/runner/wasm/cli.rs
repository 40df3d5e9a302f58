//! `ecc run [RUNNER OPTIONS] app.wasm [GUEST ARGS]`: runner options come before the module,
//! everything after it is the guest's argv.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;

use super::{is_wasm_file, run_wasm, WasmOpts};
use crate::cli::{clap_exit, print_error, usage_error, EXIT_FAILURE};

const PROG: &str = "ecc run";

#[derive(Parser, Debug)]
#[command(
    name = "ecc run",
    about = "Run a Wasm user-space program of an eBPF program (built with `ecc build-wasm`)",
    after_help = "Arguments after the module are the guest's. The guest sees no directory and \
                  no environment variable unless given with --dir/--env."
)]
struct Args {
    /// Stop after SECS seconds (default: run until the guest exits, Ctrl-C or SIGTERM)
    #[arg(long, value_name = "SECS")]
    duration: Option<f64>,
    /// Let the guest open host directory HOST, as GUEST (default: the same path)
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    dirs: Vec<String>,
    /// Set an environment variable for the guest
    #[arg(long = "env", value_name = "NAME=VALUE")]
    envs: Vec<String>,
    /// Compile the module every time instead of using the cache
    #[arg(long)]
    no_cache: bool,
    /// The guest module
    module: PathBuf,
}

/// Runner options that take a value, so the module is found without a full parse.
const WITH_VALUE: &[&str] = &["--duration", "--dir", "--env", "--btf"];

/// Whether `arg` is one of the host's options that take a value (`--dir DIR`).
pub fn takes_value(arg: &str) -> bool {
    WITH_VALUE.contains(&arg)
}

fn module_index(args: &[OsString]) -> Option<usize> {
    crate::cli::operand_index(args, takes_value)
}

/// Whether `ecc run ARGS` names a Wasm module (by its `.wasm` name or its magic) rather
/// than a package or object.
pub fn is_wasm_invocation(args: &[OsString]) -> bool {
    module_index(args).is_some_and(|i| {
        let p = Path::new(&args[i]);
        p.extension().is_some_and(|e| e == "wasm") || is_wasm_file(p)
    })
}

/// What the binary hands the host: process-wide things the library does not do itself.
pub struct Host {
    /// Set by the caller (the binary's signal handlers) to stop the guest.
    pub stop: Arc<AtomicBool>,
    /// Where compiled modules are cached.
    pub cache_dir: Option<PathBuf>,
    /// Mounts tracefs when a tracepoint is attached and it is missing.
    pub mount_tracefs: Option<fn() -> std::io::Result<()>>,
}

/// Parses `args` (after `run`), runs the guest, prints any error on one line and returns
/// the exit status: the guest's, 0 when stopped, 1 for a failure, 2 for a usage error.
pub fn main(args: Vec<OsString>, host: Host) -> i32 {
    let split = module_index(&args).map_or(args.len(), |i| i + 1);
    let (runner, guest) = args.split_at(split);
    let argv = std::iter::once(OsString::from("ecc run"))
        .chain(runner.iter().filter(|a| a.as_os_str() != "--").cloned());
    let a = match Args::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) => return clap_exit(PROG, &e),
    };
    let duration = match a.duration {
        None => None,
        Some(s) if s.is_finite() && s > 0.0 && s < 1e9 => Some(Duration::from_secs_f64(s)),
        Some(s) => {
            return usage_error(
                PROG,
                format!("--duration must be a positive number of seconds, not {s}"),
            )
        }
    };
    let mut envs = Vec::new();
    for e in &a.envs {
        match e.split_once('=') {
            Some((k, v)) if !k.is_empty() => envs.push((k.to_string(), v.to_string())),
            _ => return usage_error(PROG, format!("--env wants NAME=VALUE, not '{e}'")),
        }
    }
    let dirs = a
        .dirs
        .iter()
        .map(|d| match d.split_once("::") {
            Some((h, g)) => (PathBuf::from(h), g.to_string()),
            None => (PathBuf::from(d), d.clone()),
        })
        .collect();
    let guest: Vec<String> = guest
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    let opts = WasmOpts {
        duration,
        dirs,
        envs,
        cache_dir: if a.no_cache { None } else { host.cache_dir },
        mount_tracefs: host.mount_tracefs,
    };
    match run_wasm(&a.module, &guest, &opts, host.stop) {
        Ok(code) => code,
        Err(e) => {
            print_error(PROG, e);
            EXIT_FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::testing::os;

    #[test]
    fn the_module_ends_the_runner_options() {
        assert_eq!(module_index(&os(&["app.wasm", "--duration", "5"])), Some(0));
        assert_eq!(
            module_index(&os(&["--duration", "3", "--dir", "/tmp", "a.wasm", "-x"])),
            Some(4)
        );
        assert_eq!(module_index(&os(&["--", "-odd.wasm"])), Some(1));
        assert_eq!(module_index(&os(&["--no-cache"])), None);
        assert!(is_wasm_invocation(&os(&[
            "--env", "A=1", "x.wasm", "p.json"
        ])));
        assert!(!is_wasm_invocation(&os(&["p.json", "x.wasm"])));
    }

    #[test]
    fn usage_errors_exit_2_failures_1() {
        let host = || Host {
            stop: Arc::new(AtomicBool::new(false)),
            cache_dir: None,
            mount_tracefs: None,
        };
        assert_eq!(main(os(&["--duration", "0", "a.wasm"]), host()), 2);
        assert_eq!(main(os(&["--duration", "x", "a.wasm"]), host()), 2);
        assert_eq!(main(os(&["--env", "novalue", "a.wasm"]), host()), 2);
        assert_eq!(main(os(&["--bogus", "a.wasm"]), host()), 2);
        assert_eq!(main(os(&["--no-cache"]), host()), 2);
        assert_eq!(main(os(&["/nonexistent/a.wasm"]), host()), 1);
        assert_eq!(main(os(&["--help"]), host()), 0);
    }
}
