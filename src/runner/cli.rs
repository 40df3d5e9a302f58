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

use clap::{CommandFactory, Parser};

use super::attach::{ifindex_of, Target};
use super::kernel_btf::choose;
use super::metrics;
use super::options::{self, ParseError};
use super::run::{run, RunOpts};
use super::verify::{verify, Report, VerifyOpts};
use super::{read_input, Error};
use crate::cli;
use crate::elf::object::Object;

#[cfg(feature = "oci")]
use crate::oci::cli::TransportArgs;

include!("../args/runner.rs");

/// `ecc verify`'s command line, for help, completions and man pages.
pub fn verify_command() -> clap::Command {
    VerifyArgs::command()
}

/// `ecc run`'s command line (the runner's own options), for help, completions and man pages.
pub fn run_command() -> clap::Command {
    RunArgs::command()
}

pub fn main_verify(args: Vec<OsString>) -> i32 {
    let argv = std::iter::once(OsString::from("ecc verify")).chain(args);
    let a = match VerifyArgs::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) => return cli::clap_exit("ecc verify", &e),
    };
    let report = read_input(&a.input).and_then(|input| {
        let btf = choose(&input, a.btf.clone(), a.btf_from_package)?;
        let opts = VerifyOpts {
            log: a.log,
            verbose: a.verbose,
        };
        verify(&input, btf.path(), opts)
    });
    match report {
        Ok(r) => {
            print_report(&r, a.json);
            if r.all_verified() {
                0
            } else {
                cli::print_error("ecc verify", format!("{}: {}", r.file, r.summary()));
                cli::EXIT_FAILURE
            }
        }
        Err(e) => {
            cli::print_error("ecc verify", e);
            cli::EXIT_FAILURE
        }
    }
}

fn print_report(r: &Report, json: bool) {
    if json {
        match serde_json::to_string(r) {
            Ok(s) => println!("{s}"),
            Err(e) => cli::print_error("ecc", format!("cannot print the report as JSON: {e}")),
        }
    } else {
        print!("{}", r.to_text());
    }
}

/// Whether runner option `--name` (as typed) takes a separate value.
pub fn takes_value(arg: &str) -> bool {
    use clap::CommandFactory;
    let Some(long) = arg.strip_prefix("--").filter(|l| !l.contains('=')) else {
        return false;
    };
    RunArgs::command()
        .get_arguments()
        .any(|a| a.get_long() == Some(long) && a.get_action().takes_values())
}

/// Where the runner's own arguments end: at the package path. Everything after it belongs
/// to the program.
fn split_run_args(args: &[OsString]) -> usize {
    cli::operand_index(args, takes_value).unwrap_or(args.len())
}

/// What the binary owns and hands to the runner: the stop flag its SIGINT/SIGTERM handlers
/// set, and how to mount tracefs when a tracepoint needs it.
#[derive(Clone, Copy, Debug)]
pub struct Host<'a> {
    pub stop: &'a AtomicBool,
    pub mount_tracefs: Option<fn() -> std::io::Result<()>>,
}

pub fn main_run(args: Vec<OsString>, host: Host<'_>) -> i32 {
    let split = split_run_args(&args);
    let (runner, program) = args.split_at((split + 1).min(args.len()));
    let argv = std::iter::once(OsString::from("ecc run"))
        .chain(runner.iter().filter(|a| a.as_os_str() != "--").cloned());
    let a = match RunArgs::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) => return cli::clap_exit("ecc run", &e),
    };
    let duration = match a.duration {
        None => None,
        Some(s) if s.is_finite() && s > 0.0 && s < 1e9 => Some(Duration::from_secs_f64(s)),
        Some(s) => {
            return cli::usage_error(
                "ecc run",
                format!("--duration must be a positive number of seconds, not {s}"),
            );
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
            cli::print_error("ecc run", Error::Rejected(report));
            cli::EXIT_FAILURE
        }
        Err(Error::Usage(m)) => cli::usage_error("ecc run", m),
        Err(e) => {
            cli::print_error("ecc run", e);
            cli::EXIT_FAILURE
        }
    }
}

fn run_main(
    a: RunArgs,
    duration: Option<Duration>,
    program: &[String],
    host: Host<'_>,
) -> Result<i32, Error> {
    let input = read_input(&a.input)?;
    let assigns = {
        let model = Object::parse(&input.elf).map_err(|e| Error::object(&input.path, e))?;
        let specs = options::specs(&model, input.meta.as_ref())
            .map_err(|m| Error::input(&input.path, m))?;
        misplaced_runner_options(program, &specs)?;
        let usage = format!("ecc run {}", input.path.display());
        let about = input
            .meta
            .as_ref()
            .and_then(|m| about(m.bpf_skel.doc.as_ref()?));
        match options::parse(
            &model.btf,
            &input.obj_name,
            &usage,
            about.as_deref(),
            &specs,
            program,
        ) {
            Ok(assigns) => assigns,
            Err(ParseError::Clap(e)) => return Ok(cli::clap_exit("ecc run", &e)),
            Err(ParseError::Value(m)) => return Err(Error::Usage(m)),
        }
    };
    let ifindex = match &a.ifname {
        Some(n) => Some(ifindex_of(n).map_err(Error::Usage)?),
        None => a.ifindex,
    };
    let btf = choose(&input, a.btf.clone(), a.btf_from_package)?;
    let opts = RunOpts {
        json: a.json,
        duration,
        btf: btf.path().map(PathBuf::from),
        mount_tracefs: host.mount_tracefs,
        target: Target {
            ifindex,
            cgroup: a.cgroup,
        },
        dump_at_exit: a.dump_at_exit,
        map: a.map,
        verbose: a.verbose,
        metrics: a
            .metrics
            .as_deref()
            .map(metrics::parse_addr)
            .transpose()
            .map_err(Error::Usage)?,
    };
    run(&input, &opts, &assigns, host.stop)?;
    Ok(0)
}

/// Runner options written after the package belong to the program, which may have an
/// option of the same name. When it has none, the user meant the runner's: say where it
/// goes. When it has one, the program gets it, with a note naming the runner's option.
fn misplaced_runner_options(program: &[String], specs: &[options::OptSpec]) -> Result<(), Error> {
    let runner = RunArgs::command();
    for word in program.iter().take_while(|w| *w != "--") {
        let Some(name) = word.strip_prefix("--") else {
            continue;
        };
        let name = name.split('=').next().unwrap_or(name);
        let Some(opt) = runner.get_arguments().find(|a| a.get_long() == Some(name)) else {
            continue;
        };
        if specs.iter().any(|s| s.long == name) {
            eprintln!(
                "ecc run: note: {word} after the package sets the program's own --{name}; \
                 ecc run's --{name} goes before the package"
            );
            continue;
        }
        let value = if opt.get_action().takes_values() {
            format!(
                " {}",
                opt.get_value_names()
                    .and_then(|v| v.first())
                    .map_or("VALUE".into(), |v| v.to_string())
            )
        } else {
            String::new()
        };
        return Err(Error::Usage(format!(
            "--{name} is an option of ecc run, not of the program: put it before the package \
             (ecc run --{name}{value} PACKAGE [PROGRAM OPTIONS])"
        )));
    }
    Ok(())
}

/// The program's description for `-h`: `@brief` (with `@version`), then `@details`.
fn about(doc: &serde_json::Map<String, serde_json::Value>) -> Option<String> {
    let text = |k: &str| match doc.get(k)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    };
    let mut s = text("brief").unwrap_or_default();
    if let Some(v) = text("version") {
        s.push_str(&format!(" (version {v})"));
    }
    if let Some(d) = text("details") {
        s.push_str(&format!("\n\n{d}"));
    }
    let s = s.trim().to_string();
    (!s.is_empty()).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::testing::os;

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
    fn usage_errors_exit_2_failures_1_and_help_0() {
        assert_eq!(main_verify(os(&[])), 2);
        assert_eq!(main_verify(os(&["--help"])), 0);
        let stop = AtomicBool::new(false);
        let host = Host {
            stop: &stop,
            mount_tracefs: None,
        };
        assert_eq!(main_run(os(&["-h"]), host), 0);
        assert_eq!(main_run(os(&["--duration", "-1", "x.json"]), host), 2);
        assert_eq!(main_run(os(&["/nonexistent/p.json"]), host), 1);
        assert_eq!(main_verify(os(&["/nonexistent/p.json"])), 1);
    }
}
