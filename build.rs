//! Embeds `templates/` (the `ecc init` project templates) into the crate: writes
//! `$OUT_DIR/templates.rs`, a sorted table of (template, relative path, contents) whose
//! contents are `include_str!`s, so the binary needs no files at run time.
//!
//! Renders the man pages of both binaries and their commands (clap_mangen) into
//! `$OUT_DIR/man/` from the clap descriptions in `src/args/`, the ones the binaries parse
//! with, and writes `$OUT_DIR/man.rs`, their table for `ecc man` / `wasm-bpftool man`.

// The command-line structs are described here, never parsed.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

include!("src/args/template.rs");
include!("src/args/oci.rs");
include!("src/args/runner.rs");
include!("src/args/ecc.rs");
include!("src/args/wasm_bpftool.rs");
include!("src/args/man.rs");

fn verify_command() -> clap::Command {
    <VerifyArgs as clap::CommandFactory>::command()
}

fn run_command() -> clap::Command {
    <RunArgs as clap::CommandFactory>::command()
}

#[cfg(feature = "oci")]
fn login_command() -> clap::Command {
    <LoginArgs as clap::CommandFactory>::command()
}

#[cfg(feature = "oci")]
fn logout_command() -> clap::Command {
    <LogoutArgs as clap::CommandFactory>::command()
}

#[cfg(feature = "oci")]
fn push_command() -> clap::Command {
    <PushArgs as clap::CommandFactory>::command()
}

#[cfg(feature = "oci")]
fn pull_command() -> clap::Command {
    <PullArgs as clap::CommandFactory>::command()
}

/// Writes each binary's pages into `out/man/` and their table into `out/man.rs`.
fn man_pages(out: &Path) {
    let dir = out.join("man");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut table = String::new();
    for (konst, cmd) in [
        ("ECC_MAN_PAGES", root_command()),
        ("WASM_BPFTOOL_MAN_PAGES", command()),
    ] {
        let pages = render_man_pages(&cmd).unwrap_or_else(|e| panic!("man pages: {e}"));
        table.push_str(&format!(
            "/// The man pages of `{}` and its commands.\npub const {konst}: &[(&str, &[u8])] = &[\n",
            cmd.get_name()
        ));
        for (name, text) in pages {
            let path = dir.join(&name);
            std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let path = path.to_str().expect("utf-8 OUT_DIR");
            table.push_str(&format!("    ({name:?}, include_bytes!({path:?})),\n"));
        }
        table.push_str("];\n");
    }
    let rs = out.join("man.rs");
    std::fs::write(&rs, table).unwrap_or_else(|e| panic!("{}: {e}", rs.display()));
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest.join("templates");
    println!("cargo:rerun-if-changed=templates");
    println!("cargo:rerun-if-changed=src/args");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    let mut table = String::from("pub(crate) const FILES: &[(&str, &str, &str)] = &[\n");
    for f in &files {
        let rel = f.strip_prefix(&root).expect("under templates/");
        let mut parts = rel.iter().map(|p| p.to_str().expect("utf-8 template path"));
        let template = parts.next().expect("template folder");
        let path: Vec<&str> = parts.collect();
        assert!(
            !path.is_empty(),
            "{}: files go in a template folder",
            rel.display()
        );
        table.push_str(&format!(
            "    ({template:?}, {:?}, include_str!({:?})),\n",
            path.join("/"),
            f.to_str().expect("utf-8 path")
        ));
    }
    table.push_str("];\n");
    let out =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo")).join("templates.rs");
    std::fs::write(&out, table).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
    man_pages(out.parent().expect("OUT_DIR"));
}
