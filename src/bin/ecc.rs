//! ecc: compiles an eBPF C program into `<name>.bpf.o` and a package.json that the eunomia
//! runtime runs. Command line compatible with the original ecc:
//!   ecc [OPTIONS] <SOURCE_PATH> [EXPORT_EVENT_HEADER] [-- <extra clang args>...]
//! and subcommands (`ecc init`, `ecc run`, ...) from the HANDLERS table; the command lines
//! are in src/args/ecc.rs. Exit statuses and error messages follow `ecc::cli`.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{CommandFactory, FromArgMatches};

use ecc::cli;
use ecc::init::Template;

include!("../args/ecc.rs");

use ecc::build::driver::{self, Request};

type Handler = fn(Vec<OsString>) -> Result<()>;

/// What runs each command of `COMMANDS` (src/args/ecc.rs), by name: it gets the arguments
/// after the command's name.
const HANDLERS: &[(&str, Handler)] = &[
    ("init", init),
    ("verify", verify),
    ("run", run),
    #[cfg(feature = "oci")]
    ("login", |a| oci_main(ecc::oci::cli::main_login, a)),
    #[cfg(feature = "oci")]
    ("logout", |a| oci_main(ecc::oci::cli::main_logout, a)),
    #[cfg(feature = "oci")]
    ("push", |a| oci_main(ecc::oci::cli::main_push, a)),
    #[cfg(feature = "oci")]
    ("pull", |a| oci_main(ecc::oci::cli::main_pull, a)),
    ("build-wasm", build_wasm),
    ("help", help),
    ("completions", completions),
    ("man", man),
];

/// Parses a subcommand's arguments with its own clap description.
fn parse_sub<T: clap::FromArgMatches>(
    name: &str,
    command: clap::Command,
    args: Vec<OsString>,
) -> Result<T> {
    let argv = std::iter::once(OsString::from(format!("ecc {name}"))).chain(args);
    let m = command.try_get_matches_from(argv)?;
    Ok(T::from_arg_matches(&m)?)
}

fn init(args: Vec<OsString>) -> Result<()> {
    let a: InitArgs = parse_sub("init", InitArgs::command(), args)?;
    // A bad name is a failure like an existing path (exit 1): the arguments parsed.
    let files = ecc::init::create(&a.name, a.template)?;
    println!("created {}/ with:", a.name.display());
    for f in files {
        println!("  {}", f.display());
    }
    println!("next: cd {} && make && sudo make run", a.name.display());
    Ok(())
}

/// `ecc verify` and `ecc run` live in the library; they print their own errors and choose
/// the exit status.
#[cfg(feature = "loader")]
fn verify(args: Vec<OsString>) -> Result<()> {
    exit_status(ecc::runner::cli::main_verify(args))
}

/// The runner checks the stop flag at least every 100 ms and then detaches.
#[cfg(feature = "loader")]
fn run(args: Vec<OsString>) -> Result<()> {
    // A registry reference is pulled first, before Ctrl-C only sets the stop flag.
    #[cfg(feature = "oci")]
    let args = match ecc::oci::cli::resolve_run_args(args, &oci_env(), &run_takes_value) {
        Ok(args) => args,
        Err(code) => return exit_status(code),
    };
    let stop = stop_on_signals()?;
    #[cfg(feature = "wasm")]
    if ecc::runner::wasm::cli::is_wasm_invocation(&args) {
        let host = ecc::runner::wasm::cli::Host {
            stop,
            cache_dir: ecc::build::vmlinux::cache_root(),
            mount_tracefs: Some(mount_tracefs),
        };
        return exit_status(ecc::runner::wasm::cli::main(args, host));
    }
    let host = ecc::runner::cli::Host {
        stop: &stop,
        mount_tracefs: Some(mount_tracefs),
    };
    exit_status(ecc::runner::cli::main_run(args, host))
}

/// Whether an option of `ecc run` (the runner's or the Wasm host's) takes a separate value.
#[cfg(feature = "oci")]
fn run_takes_value(arg: &str) -> bool {
    #[cfg(feature = "wasm")]
    if ecc::runner::wasm::cli::takes_value(arg) {
        return true;
    }
    ecc::runner::cli::takes_value(arg)
}

/// The registry commands live in the library; they print their own errors.
#[cfg(feature = "oci")]
fn oci_main(main: fn(Vec<OsString>, &ecc::oci::Env) -> i32, args: Vec<OsString>) -> Result<()> {
    exit_status(main(args, &oci_env()))
}

/// Where registry credentials and pulled files live, from the environment as docker and
/// the XDG rules say: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`; the cache
/// under the ecc cache (`$XDG_CACHE_HOME/ecc`, else `~/.cache/ecc`) in `oci/`.
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

#[cfg(feature = "loader")]
fn exit_status(code: i32) -> Result<()> {
    match code {
        0 => Ok(()),
        c => Err(cli::Exit(c).into()),
    }
}

#[cfg(not(feature = "loader"))]
fn verify(_: Vec<OsString>) -> Result<()> {
    anyhow::bail!("ecc was built without the `loader` feature, which `ecc verify` needs")
}

#[cfg(not(feature = "loader"))]
fn run(_: Vec<OsString>) -> Result<()> {
    anyhow::bail!("ecc was built without the `loader` feature, which `ecc run` needs")
}

/// The runner's command lines, for help, completions and man pages.
#[cfg(feature = "loader")]
use ecc::runner::cli::{run_command, verify_command};

/// The registry commands' command lines (feature `oci`).
#[cfg(feature = "oci")]
use ecc::oci::cli::{login_command, logout_command, pull_command, push_command};

#[cfg(not(feature = "loader"))]
fn verify_command() -> clap::Command {
    clap::Command::new("ecc verify").about("Verify a package (needs the `loader` feature)")
}

#[cfg(not(feature = "loader"))]
fn run_command() -> clap::Command {
    clap::Command::new("ecc run").about("Run a package (needs the `loader` feature)")
}

fn help(args: Vec<OsString>) -> Result<()> {
    let a: HelpArgs = parse_sub("help", HelpArgs::command(), args)?;
    let Some(name) = a.command else {
        root_command().print_help()?;
        return Ok(());
    };
    match HANDLERS.iter().find(|(n, _)| *n == name) {
        Some((_, run)) => run(vec![OsString::from("--help")]),
        None => Err(cli::Usage(format!(
            "no command '{name}'; `ecc --help` lists the commands"
        ))
        .into()),
    }
}

fn completions(args: Vec<OsString>) -> Result<()> {
    let a: CompletionsArgs = parse_sub("completions", CompletionsArgs::command(), args)?;
    let shell: cli::Shell = a.shell.parse().map_err(|e: String| cli::Usage(e))?;
    let mut out = std::io::stdout().lock();
    cli::completions(root_command().bin_name("ecc"), shell, &mut out);
    Ok(())
}

fn man(args: Vec<OsString>) -> Result<()> {
    let a: ManArgs = parse_sub("man", ManArgs::command(), args)?;
    cli::write_man_pages(cli::ECC_MAN_PAGES, &a.dir)
        .with_context(|| format!("{}", a.dir.display()))?;
    Ok(())
}

fn build_wasm(args: Vec<OsString>) -> Result<()> {
    let a: BuildWasm = parse_sub("build-wasm", BuildWasm::command(), args)?;
    let req = ecc::build::wasm::Request {
        sources: a.sources,
        output: a.output,
        clang_args: a.clang_args,
        clang: a.clang_bin,
        cache_dir: ecc::build::vmlinux::cache_root(),
    };
    ecc::build::wasm::build(&req)?;
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let sub = args
        .get(1)
        .and_then(|a| HANDLERS.iter().find(|(n, _)| a.to_str() == Some(*n)));
    let code = match sub {
        Some((name, run)) => cli::finish(&format!("ecc {name}"), run(args[2..].to_vec())),
        None => cli::finish("ecc", parse_compile(&args).and_then(compile)),
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// The original ecc's options we do not have, with what to use instead.
const NOT_IMPLEMENTED: &[(&str, &str, &str)] = &[
    (
        "-w",
        "--workspace-path",
        "ecc needs no workspace: vmlinux.h comes from the kernel's BTF (--btf FILE for \
         another kernel's) and libbpf's headers from the system (--libbpf-include DIR)",
    ),
    (
        "-y",
        "--yaml",
        "ecc writes package.json, which the runtime reads; convert it with a JSON-to-YAML \
         tool if you need YAML",
    ),
    (
        "-s",
        "--subskeleton",
        "generate a skeleton with `wasm-bpftool gen skeleton X.bpf.o` (-j for Wasm guests)",
    ),
];

/// Flags that go to clang when they appear among ecc's own options, as the original ecc
/// users expect; the three that take a value may have it as the next argument.
fn is_clang_flag(a: &str) -> bool {
    ["-D", "-I", "-U", "-W", "-O"]
        .iter()
        .any(|p| a.starts_with(p))
}

/// Splits the compile's command line into the arguments clap parses and clang's flags, in
/// the order given: `-a` values (split on whitespace), clang-like flags (`-DX`, `-I DIR`,
/// `-Wall`, `-O2`, ...) and everything after `--`.
fn split_clang_args(args: &[OsString]) -> Result<(Vec<OsString>, Vec<String>)> {
    let takes_value: Vec<String> = Cli::command()
        .get_arguments()
        .filter(|a| a.get_action().takes_values() && !a.is_positional())
        .flat_map(|a| {
            let short = a.get_short().map(|c| format!("-{c}"));
            let long = a.get_long().map(|l| format!("--{l}"));
            short.into_iter().chain(long)
        })
        .collect();
    let mut ours = Vec::new();
    let mut clang = Vec::new();
    let mut it = args.iter();
    if let Some(argv0) = it.next() {
        ours.push(argv0.clone());
    }
    while let Some(arg) = it.next() {
        let Some(a) = arg.to_str() else {
            ours.push(arg.clone());
            continue;
        };
        let next = |it: &mut std::slice::Iter<'_, OsString>| -> Result<String> {
            let v = it
                .next()
                .ok_or_else(|| cli::Usage(format!("{a} needs a value")))?;
            Ok(v.to_string_lossy().into_owned())
        };
        if a == "--" {
            clang.extend(it.by_ref().map(|s| s.to_string_lossy().into_owned()));
        } else if let Some((_, _, instead)) = NOT_IMPLEMENTED
            .iter()
            .find(|(s, l, _)| a == *s || a == *l || a.starts_with(&format!("{l}=")))
        {
            let (s, l, _) = NOT_IMPLEMENTED
                .iter()
                .find(|(_, _, i)| i == instead)
                .expect("found above");
            return Err(cli::Usage(format!("{s}/{l} is not implemented: {instead}")).into());
        } else if a == "-a" || a == "--additional-cflags" {
            clang.extend(next(&mut it)?.split_whitespace().map(str::to_string));
        } else if let Some(v) = a
            .strip_prefix("--additional-cflags=")
            .or_else(|| a.strip_prefix("-a"))
        {
            clang.extend(v.split_whitespace().map(str::to_string));
        } else if is_clang_flag(a) {
            clang.push(a.to_string());
            if matches!(a, "-D" | "-I" | "-U") {
                clang.push(next(&mut it)?);
            }
        } else if takes_value.iter().any(|t| t == a) {
            ours.push(arg.clone());
            if let Some(v) = it.next() {
                ours.push(v.clone());
            }
        } else {
            ours.push(arg.clone());
        }
    }
    Ok((ours, clang))
}

/// The compile's command line, parsed.
fn parse_compile(args: &[OsString]) -> Result<(Cli, Vec<String>)> {
    let (ours, cflags) = split_clang_args(args)?;
    let m = root_command().try_get_matches_from(ours)?;
    if let Some((name, _)) = m.subcommand() {
        return Err(cli::Usage(format!(
            "'{name}' is a command: put it first (ecc {name} ...)"
        ))
        .into());
    }
    Ok((Cli::from_arg_matches(&m)?, cflags))
}

/// The archive `--btfgen` reads: the one given, or the original ecc's default location.
fn btfhub_archive(given: Option<PathBuf>) -> Result<PathBuf> {
    let dir = match given {
        Some(d) => d,
        None => std::env::var_os("HOME")
            .map(|h| PathBuf::from(h).join(".cache/eunomia/btfhub-archive"))
            .ok_or_else(|| {
                anyhow::anyhow!("--btfgen: HOME is not set; pass --btfhub-archive DIR")
            })?,
    };
    if !dir.is_dir() {
        anyhow::bail!(
            "--btfgen: BTFHub archive {} is not a directory (clone https://github.com/aquasecurity/btfhub-archive there or pass --btfhub-archive DIR)",
            dir.display()
        );
    }
    Ok(dir)
}

/// A flag that SIGINT and SIGTERM set instead of killing ecc, so the compile can stop clang
/// and clean up its temp directory first, and `run` can detach before it exits.
fn stop_on_signals() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))?;
    }
    Ok(stop)
}

fn compile((cli, cflags): (Cli, Vec<String>)) -> Result<()> {
    // Point clang-sys at the libclang of the clang in use, unless the user chose one. Done
    // here, before any thread exists, because it sets an environment variable.
    debug_assert!(cli.additional_cflags.is_empty() && cli.clang_args.is_empty());
    if std::env::var_os("LIBCLANG_PATH").is_none() {
        let lib = ecc::build::compile::find_clang(cli.clang_bin.as_deref())
            .ok()
            .and_then(|c| ecc::build::compile::libclang_for(&c));
        if let Some(lib) = lib {
            std::env::set_var("LIBCLANG_PATH", lib);
        }
    }
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
        btfgen: cli
            .btfgen
            .then(|| btfhub_archive(cli.btfhub_archive))
            .transpose()?,
        no_pch: cli.no_pch,
        stop: Some(stop_on_signals()?),
    };
    let verbose = cli.verbose;
    let log = move |line: &str| {
        if verbose {
            eprintln!("ecc: {line}");
        }
    };
    let outcome = match driver::build(&req, &log) {
        Err(driver::Error::Interrupted) => {
            // Killed clang, removed the temp directory, wrote nothing: exit as a shell
            // expects of a command stopped by SIGINT.
            std::process::exit(130)
        }
        r => r?,
    };
    for w in &outcome.warnings {
        eprintln!("ecc: warning: {w}");
    }
    for p in &outcome.written {
        log(&format!("wrote {}", p.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_command_tree_is_consistent() {
        root_command().debug_assert();
        // Every described command runs, every handler is described.
        let described: Vec<&str> = COMMANDS.iter().map(|(n, _)| *n).collect();
        let handled: Vec<&str> = HANDLERS.iter().map(|(n, _)| *n).collect();
        assert_eq!(described, handled);
    }

    #[test]
    fn clang_flags_keep_their_order_with_a_and_dashdash() {
        let (ours, clang) = split_clang_args(&os(&[
            "ecc", "-DA", "-o", "-Dout", "-a", "-X -Y", "x.bpf.c", "-I", "inc", "-O2", "h.h",
            "-Wall", "-a-Z", "--", "-o", "last",
        ]))
        .unwrap();
        assert_eq!(ours, os(&["ecc", "-o", "-Dout", "x.bpf.c", "h.h"]));
        assert_eq!(
            clang,
            ["-DA", "-X", "-Y", "-I", "inc", "-O2", "-Wall", "-Z", "-o", "last"]
        );
    }
}
