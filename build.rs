//! Embeds `templates/` (the `ecc init` project templates) into the crate: writes
//! `$OUT_DIR/templates.rs`, a sorted table of (template, relative path, contents) whose
//! contents are `include_str!`s, so the binary needs no files at run time.

use std::path::{Path, PathBuf};

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
}
