//! Command lines of `ecc login`, `ecc logout`, `ecc push` and `ecc pull`, and the step of
//! `ecc run` that turns a reference into a local file. Each `main_*` prints its own errors
//! and returns the exit status (0 ok, 1 failure, 2 usage error). The
//! command lines themselves are in src/args/oci.rs.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};

use clap::{CommandFactory, Parser};

use crate::cli;

use super::transfer::{self, Limits};
use super::{auth, reference, Env, Error, Transport};

include!("../args/oci.rs");

impl TransportArgs {
    pub fn transport(&self) -> Transport {
        Transport {
            plain_http: self.plain_http,
            ca_file: self.ca_file.clone(),
        }
    }
}

/// The command lines, for help, completions and man pages.
pub fn login_command() -> clap::Command {
    LoginArgs::command()
}
pub fn logout_command() -> clap::Command {
    LogoutArgs::command()
}
pub fn push_command() -> clap::Command {
    PushArgs::command()
}
pub fn pull_command() -> clap::Command {
    PullArgs::command()
}

/// Parses `ecc CMD ARGS` as `T` and runs it; the exit status.
fn command<T: Parser>(
    cmd: &str,
    args: Vec<OsString>,
    run: impl FnOnce(&T) -> Result<(), Error>,
) -> i32 {
    let prog = format!("ecc {cmd}");
    match T::try_parse_from(std::iter::once(OsString::from(&prog)).chain(args)) {
        Ok(a) => finish(cmd, run(&a)),
        Err(e) => cli::clap_exit(&prog, &e),
    }
}

/// Prints an error in the common style; a usage error exits 2, any other failure 1.
fn finish(cmd: &str, r: Result<(), Error>) -> i32 {
    let prog = format!("ecc {cmd}");
    match r {
        Ok(()) => cli::EXIT_OK,
        Err(Error::Usage(m)) => cli::usage_error(&prog, m),
        Err(e) => {
            cli::print_error(&prog, e);
            cli::EXIT_FAILURE
        }
    }
}

pub fn main_login(args: Vec<OsString>, env: &Env) -> i32 {
    command("login", args, |a: &LoginArgs| login(a, env))
}

fn login(a: &LoginArgs, env: &Env) -> Result<(), Error> {
    if !a.password_stdin {
        return Err(Error::Usage(
            "give the password on standard input with --password-stdin (never on the command line)"
                .into(),
        ));
    }
    let registry = reference::registry_of(&a.registry)?;
    let mut password = String::new();
    std::io::stdin()
        .read_to_string(&mut password)
        .map_err(|e| Error::io("standard input", e))?;
    let password = password.trim_end_matches(['\n', '\r']);
    auth::login(
        env,
        &registry,
        &a.username,
        password,
        &a.transport.transport(),
    )?;
    eprintln!(
        "ecc login: logged in to {registry} as {} (stored in {})",
        a.username,
        auth::config_path(env)?.display()
    );
    Ok(())
}

pub fn main_logout(args: Vec<OsString>, env: &Env) -> i32 {
    command("logout", args, |a: &LogoutArgs| {
        reference::registry_of(&a.registry).and_then(|registry| {
            if auth::logout(env, &registry)? {
                eprintln!("ecc logout: removed the credentials of {registry}");
            } else {
                eprintln!("ecc logout: not logged in to {registry}");
            }
            Ok(())
        })
    })
}

pub fn main_push(args: Vec<OsString>, env: &Env) -> i32 {
    command("push", args, |a: &PushArgs| {
        transfer::push(env, &a.file, &a.reference, &a.transport.transport()).map(|digest| {
            println!("{}@{digest}", a.reference);
        })
    })
}

pub fn main_pull(args: Vec<OsString>, env: &Env) -> i32 {
    command("pull", args, |a: &PullArgs| pull(a, env))
}

fn pull(a: &PullArgs, env: &Env) -> Result<(), Error> {
    let dir = a.output.clone().unwrap_or_else(|| PathBuf::from("."));
    let limits = Limits {
        max_blob: a.max_size,
    };
    let p = transfer::pull(env, &a.reference, &a.transport.transport(), &limits)?;
    // Only a verified pull creates the output directory.
    if !dir.is_dir() {
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    }
    let out = dir.join(&p.name);
    crate::util::fs::write_atomic(&out, &p.bytes).map_err(|e| Error::io(&out, e))?;
    println!("{}", out.display());
    Ok(())
}

/// `ecc run`'s arguments (after `run`) ready for the runner: a registry reference in place
/// of the file is pulled into the cache (once per digest) and replaced by the cached file's
/// path, and the transport options, which only the pull uses, are taken out. `takes_value`
/// says which runner options take a separate value, so values are not taken for the file.
/// Errors are printed; the `Err` is the exit status.
pub fn resolve_run_args(
    args: Vec<OsString>,
    env: &Env,
    takes_value: &dyn Fn(&str) -> bool,
) -> Result<Vec<OsString>, i32> {
    // Without an input the runner reports what is missing; it accepts the transport options.
    let Some(at) = cli::operand_index(&args, takes_value) else {
        return Ok(args);
    };
    let mut t = TransportArgs::default();
    let mut out = Vec::with_capacity(args.len());
    let mut words = args.into_iter();
    let mut options = words.by_ref().take(at);
    while let Some(a) = options.next() {
        let s = a.to_string_lossy();
        if s == "--plain-http" {
            t.plain_http = true;
        } else if let Some(v) = s.strip_prefix("--ca-file=") {
            t.ca_file = Some(PathBuf::from(v));
        } else if s == "--ca-file" {
            t.ca_file = options.next().map(PathBuf::from);
        } else {
            // Another option, or `--`: `takes_value` put any value of it in this prefix too.
            out.push(a);
        }
    }
    if let Some(input) = words.next() {
        let path = match resolve_run_input(Path::new(&input), &t, env) {
            Ok(p) => p.into_os_string(),
            Err(e) => return Err(finish("run", Err(e))),
        };
        out.push(path);
    }
    out.extend(words);
    Ok(out)
}

/// `ecc run`'s input: a local path as it is, or a reference pulled into the cache.
fn resolve_run_input(input: &Path, t: &TransportArgs, env: &Env) -> Result<PathBuf, Error> {
    let Some(arg) = input.to_str().filter(|s| reference::is_remote(s)) else {
        return Ok(input.to_path_buf());
    };
    if env.cache.is_none() {
        return Err(Error::Env(format!(
            "{arg}: no cache directory to pull into (set HOME or XDG_CACHE_HOME)"
        )));
    }
    let limits = Limits {
        max_blob: DEFAULT_MAX_BLOB_BYTES,
    };
    let p = transfer::pull(env, arg, &t.transport(), &limits)?;
    let how = if p.downloaded { "pulled" } else { "cached" };
    eprintln!("ecc run: {arg}: {how} {} ({})", p.name, p.digest);
    p.cached
        .ok_or_else(|| Error::refused(arg, "the cache did not keep the pulled file"))
}
