//! Compiles src/minitrace.bpf.c into OUT_DIR with ecc's library API and tells cargo which
//! files to watch.

use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let built = ecc::build::Build::new("src/minitrace.bpf.c")
        .header("src/minitrace.h")
        .out_dir(&out)
        .run()
        .unwrap_or_else(|e| panic!("ecc: {e}"));
    for input in &built.inputs {
        println!("cargo:rerun-if-changed={}", input.display());
    }
    for w in &built.warnings {
        println!("cargo:warning={w}");
    }
}
