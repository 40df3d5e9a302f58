//! Command lines of `ecc verify` and `ecc run`. The binary hands over everything after the
//! subcommand word and exits with the returned status.
//!
//! `ecc run [RUNNER OPTIONS] <package.json | X.bpf.o> [PROGRAM OPTIONS]`: runner options come
//! before the package, the options generated from the package after it, so a program may
//! have its own `--duration` without clashing with the runner's.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use clap::Parser;

use super::attach::{ifindex_of, Target};
use super::options::{self, ParseError};
use super::run::{run, RunOpts};
use super::verify::{verify, Report};
use super::{read_input, Error};
use crate::elf::object::Object;

#[derive(Parser, Debug)]
#[command(
    name = "ecc verify",
    about = "Load every program of a package or BPF object into the kernel verifier"
)]
struct VerifyArgs {
    /// package.json or X.bpf.o
    input: PathBuf,
    /// Kernel BTF to relocate against (default: /sys/kernel/btf/vmlinux)
    #[arg(long, value_name = "FILE")]
    btf: Option<PathBuf>,
    /// Print the report as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Parser, Debug)]
#[command(
    name = "ecc run",
    about = "Load and attach a package's programs and print its events",
    after_help = "Program options go after the package; `ecc run PACKAGE -h` lists them."
)]
struct RunArgs {
    /// Print one JSON object per event
    #[arg(long)]
    json: bool,
    /// Stop after SECS seconds (default: run until Ctrl-C or SIGTERM)
    #[arg(long, value_name = "SECS")]
    duration: Option<f64>,
    /// Kernel BTF to relocate against (default: /sys/kernel/btf/vmlinux)
    #[arg(long, value_name = "FILE")]
    btf: Option<PathBuf>,
    /// Interface for XDP, tc and socket programs, over the package's @ifindex/@tchook (default: 1, lo)
    #[arg(long, value_name = "N", conflicts_with = "ifname")]
    ifindex: Option<u32>,
    /// Interface by name, as --ifindex
    #[arg(long, value_name = "NAME")]
    ifname: Option<String>,
    /// Cgroup for cgroup and sockops programs (default: the cgroup v2 root)
    #[arg(long, value_name = "PATH")]
    cgroup: Option<PathBuf>,
    /// Print the counters (.bss) and hash/array maps when the run ends (always done when the
    /// program has no output map)
    #[arg(long)]
    dump_at_exit: bool,
    #[cfg(feature = "oci")]
    #[command(flatten)]
    registry: crate::oci::cli::TransportArgs,
    /// package.json, X.bpf.o, or a registry reference (host[:port]/repo[:tag|@digest])
    input: PathBuf,
}

/// Prints a clap error or help; help exits 0, errors 1.
fn clap_exit(e: &clap::Error) -> i32 {
    let _ = e.print();
    if e.use_stderr() {
        1
    } else {
        0
    }
}

pub fn main_verify(args: Vec<OsString>) -> i32 {
    let argv = std::iter::once(OsString::from("ecc verify")).chain(args);
    let a = match VerifyArgs::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) => return clap_exit(&e),
    };
    let report = read_input(&a.input).and_then(|input| verify(&input, a.btf.as_deref()));
    match report {
        Ok(r) => {
            print_report(&r, a.json);
            let bad = r.programs.iter().filter(|p| p.rejection.is_some()).count();
            if bad == 0 {
                0
            } else {
                eprintln!(
                    "ecc verify: {}: {bad} of {} programs rejected by the verifier",
                    r.file,
                    r.programs.len()
                );
                1
            }
        }
        Err(e) => {
            eprintln!("ecc verify: {e}");
            1
        }
    }
}

fn print_report(r: &Report, json: bool) {
    if json {
        match serde_json::to_string(r) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("ecc: cannot print the report as JSON: {e}"),
        }
    } else {
        print!("{}", r.to_text());
    }
}

/// Whether runner option `--name` (as typed) takes a separate value.
fn takes_value(arg: &str) -> bool {
    use clap::CommandFactory;
    let Some(long) = arg.strip_prefix("--").filter(|l| !l.contains('=')) else {
        return false;
    };
    RunArgs::command()
        .get_arguments()
        .any(|a| a.get_long() == Some(long) && a.get_action().takes_values())
}

/// Where the runner's own arguments end: at the first word that is not an option or the
/// value of one (the package path). Everything after it belongs to the program.
fn split_run_args(args: &[OsString]) -> usize {
    let mut i = 0;
    while i < args.len() {
        let a = args[i].to_string_lossy();
        if a == "--" {
            return (i + 1).min(args.len() - 1);
        }
        if takes_value(&a) {
            i += 2;
            continue;
        }
        if !a.starts_with('-') || a == "-" {
            return i;
        }
        i += 1;
    }
    args.len()
}

/// What the binary owns and hands to the runner: the stop flag its SIGINT/SIGTERM handlers
/// set, and how to mount tracefs when a tracepoint needs it.
#[derive(Clone, Copy, Debug)]
pub struct Host<'a> {
    pub stop: &'a AtomicBool,
    pub mount_tracefs: Option<fn() -> std::io::Result<()>>,
    /// Credentials and the pull cache, for `ecc run REF`.
    #[cfg(feature = "oci")]
    pub registry: &'a crate::oci::Env,
}

pub fn main_run(args: Vec<OsString>, host: Host<'_>) -> i32 {
    let split = split_run_args(&args);
    let (runner, program) = args.split_at((split + 1).min(args.len()));
    let argv = std::iter::once(OsString::from("ecc run"))
        .chain(runner.iter().filter(|a| a.as_os_str() != "--").cloned());
    let a = match RunArgs::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) => return clap_exit(&e),
    };
    let duration = match a.duration {
        None => None,
        Some(s) if s.is_finite() && s > 0.0 && s < 1e9 => Some(Duration::from_secs_f64(s)),
        Some(s) => {
            eprintln!("ecc run: --duration must be a positive number of seconds, not {s}");
            return 1;
        }
    };
    let program: Vec<String> = program
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    let json = a.json;
    match run_main(a, duration, &program, host) {
        Ok(code) => code,
        Err(Error::Rejected(report)) => {
            print_report(&report, json);
            eprintln!("ecc run: {}", Error::Rejected(report));
            1
        }
        Err(e) => {
            eprintln!("ecc run: {e}");
            1
        }
    }
}

fn run_main(
    a: RunArgs,
    duration: Option<Duration>,
    program: &[String],
    host: Host<'_>,
) -> Result<i32, Error> {
    let path = local_input(&a, host)?;
    let input = read_file(&path)?;
    let assigns = {
        let model = Object::parse(&input.elf).map_err(|e| Error::object(&input.path, e))?;
        let specs = options::specs(&model, input.meta.as_ref())
            .map_err(|m| Error::input(&input.path, m))?;
        let usage = format!("ecc run {}", input.path.display());
        match options::parse(&model.btf, &input.obj_name, &usage, &specs, program) {
            Ok(assigns) => assigns,
            Err(ParseError::Clap(e)) => return Ok(clap_exit(&e)),
            Err(ParseError::Value(m)) => return Err(Error::Usage(m)),
        }
    };
    let ifindex = match &a.ifname {
        Some(n) => Some(ifindex_of(n).map_err(Error::Usage)?),
        None => a.ifindex,
    };
    let opts = RunOpts {
        json: a.json,
        duration,
        btf: a.btf,
        mount_tracefs: host.mount_tracefs,
        target: Target {
            ifindex,
            cgroup: a.cgroup,
        },
        dump_at_exit: a.dump_at_exit,
    };
    run(&input, &opts, &assigns, host.stop)?;
    Ok(0)
}

/// The file `ecc run` runs: the path given, or what a registry reference names, pulled
/// into the cache.
fn local_input(a: &RunArgs, host: Host<'_>) -> Result<PathBuf, Error> {
    #[cfg(feature = "oci")]
    return crate::oci::cli::resolve_run_input(&a.input, &a.registry, host.registry)
        .map_err(|e| Error::Usage(e.to_string()));
    #[cfg(not(feature = "oci"))]
    {
        let _ = host;
        Ok(a.input.clone())
    }
}

/// Chooses how to run a local file by its type: Wasm apps need the Wasm host, which this
/// build does not have; everything else is a package or a BPF object.
fn read_file(path: &std::path::Path) -> Result<super::Input, Error> {
    let mut magic = [0u8; 4];
    let is_wasm = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok()
        && &magic == b"\0asm";
    if is_wasm {
        return Err(Error::input(
            path,
            "is a Wasm app; this ecc has no Wasm host to run it (push and pull work)",
        ));
    }
    read_input(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn runner_options_end_at_the_package() {
        assert_eq!(split_run_args(&os(&["p.json", "--duration", "5"])), 0);
        assert_eq!(
            split_run_args(&os(&["--duration", "3", "p.json", "-p", "1"])),
            2
        );
        assert_eq!(split_run_args(&os(&["--json", "--btf", "f", "p.json"])), 3);
        assert_eq!(split_run_args(&os(&["--", "-weird.json", "-x"])), 1);
        assert_eq!(split_run_args(&os(&["--json"])), 1);
    }

    #[test]
    fn usage_errors_exit_1_and_help_exits_0() {
        assert_eq!(main_verify(os(&[])), 1);
        assert_eq!(main_verify(os(&["--help"])), 0);
        let stop = AtomicBool::new(false);
        #[cfg(feature = "oci")]
        let registry = crate::oci::Env::default();
        let host = Host {
            stop: &stop,
            mount_tracefs: None,
            #[cfg(feature = "oci")]
            registry: &registry,
        };
        assert_eq!(main_run(os(&["-h"]), host), 0);
        assert_eq!(main_run(os(&["--duration", "-1", "x.json"]), host), 1);
        assert_eq!(main_run(os(&["/nonexistent/p.json"]), host), 1);
        assert_eq!(main_verify(os(&["/nonexistent/p.json"])), 1);
    }
}
