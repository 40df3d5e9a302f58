//! Conventions both binaries and every subcommand follow: exit statuses (0 ok, 1 failure,
//! 2 usage error), the error prefix (`ecc: error: ...`, `ecc run: error: ...`), clap's
//! help and errors printed in that style, shell completions and man pages (rendered at build
//! time).

use std::ffi::OsString;
use std::fmt::Display;
use std::io::Write;
use std::path::{Path, PathBuf};

pub const EXIT_OK: i32 = 0;
pub const EXIT_FAILURE: i32 = 1;
pub const EXIT_USAGE: i32 = 2;

/// A usage error: the command line itself is wrong. Binaries exit 2 for it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Usage(pub String);

/// The outcome was already reported; exit with this status (for subcommands that print
/// their own results and errors).
#[derive(Debug, thiserror::Error)]
#[error("exit status {0}")]
pub struct Exit(pub i32);

/// Prints `prog: error: msg` on stderr.
pub fn print_error(prog: &str, msg: impl Display) {
    eprintln!("{prog}: error: {msg}");
}

/// Prints a usage error and returns its exit status.
pub fn usage_error(prog: &str, msg: impl Display) -> i32 {
    print_error(prog, msg);
    EXIT_USAGE
}

/// Prints what clap reports, help and version on stdout (exit 0), errors on stderr with
/// our prefix (exit 2), and returns the exit status.
pub fn clap_exit(prog: &str, e: &clap::Error) -> i32 {
    if !e.use_stderr() {
        let _ = e.print();
        return EXIT_OK;
    }
    let text = e.render().to_string();
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    eprint!("{prog}: error: {text}");
    EXIT_USAGE
}

/// The exit status for a binary's or subcommand's result, after printing the error in
/// the house style: clap errors and [`Usage`] exit 2, [`Exit`] its own status, others 1.
pub fn finish(prog: &str, result: anyhow::Result<()>) -> i32 {
    let Err(e) = result else {
        return EXIT_OK;
    };
    if let Some(Exit(code)) = e.downcast_ref::<Exit>() {
        return *code;
    }
    if let Some(c) = e.downcast_ref::<clap::Error>() {
        return clap_exit(prog, c);
    }
    if let Some(u) = e.downcast_ref::<Usage>() {
        return usage_error(prog, u);
    }
    print_error(prog, format!("{e:#}"));
    EXIT_FAILURE
}

/// The shells `completions` supports.
pub use clap_complete::Shell;

/// Writes `cmd`'s completion script for `shell`.
/// Where a command's own options end in `args`: the index of the first operand (a word
/// that is neither an option nor the separate value of one; after `--`, whatever follows).
/// `takes_value` says which options take a separate value. `None`: no operand.
pub fn operand_index(args: &[OsString], takes_value: impl Fn(&str) -> bool) -> Option<usize> {
    let mut i = 0;
    while let Some(word) = args.get(i) {
        let w = word.to_string_lossy();
        if w == "--" {
            return args.get(i + 1).map(|_| i + 1);
        }
        if !w.starts_with('-') || w == "-" {
            return Some(i);
        }
        i += if takes_value(&w) { 2 } else { 1 };
    }
    None
}

pub fn completions(mut cmd: clap::Command, shell: Shell, out: &mut dyn Write) {
    let bin = cmd.get_name().to_string();
    clap_complete::generate(shell, &mut cmd, bin, out);
}

// `ECC_MAN_PAGES` and `WASM_BPFTOOL_MAN_PAGES`: rendered by build.rs from the same clap
// descriptions the binaries parse with (src/args/).
include!(concat!(env!("OUT_DIR"), "/man.rs"));

/// Writes man pages (file name, roff text: one of the tables above) into `dir`, atomically
/// each. Returns the files written.
pub fn write_man_pages(pages: &[(&str, &[u8])], dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (name, text) in pages {
        let path = dir.join(name);
        crate::util::fs::write_atomic(&path, text)?;
        written.push(path);
    }
    Ok(written)
}
