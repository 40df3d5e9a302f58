//! Property test of the Wasm layout engine: random C type definitions go through
//! `clang -target bpf -g`, then `wasm-bpftool … format c -j`, then a wasm32 compile (C and
//! C++), where every `sizeof`/`offsetof` assert of the header must hold. Many definitions
//! share one clang invocation. `ECC_PROPTEST_SEED` and `ECC_PROPTEST_BATCHES` override the
//! defaults to explore further.

mod cgen;
mod common;

use std::path::Path;

/// Each batch is one translation unit holding this many top-level records (plus the records
/// and anonymous types nested in them).
const PER_BATCH: usize = 40;
const DEFAULT_BATCHES: u64 = 8;
const DEFAULT_SEED: u64 = 0x5eed_1a70;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn run(cmd: &str, args: &[&str], dir: &Path) -> Result<String, String> {
    let out = std::process::Command::new(cmd)
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{cmd} {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .take(30)
                .collect::<Vec<_>>()
                .join("\n")
        ))
    }
}

/// Records and offsetof asserts checked, or what failed.
type BatchResult = Result<(usize, usize), String>;

/// One batch of random definitions through clang, wasm-bpftool and clang again.
fn batch(seed: u64, dir: &Path) -> BatchResult {
    let mut rng = cgen::Rng::new(seed);
    let prog = cgen::program(&mut rng, "p_", PER_BATCH);
    std::fs::write(dir.join("gen.c"), &prog.source).map_err(|e| e.to_string())?;
    run(
        "clang",
        &[
            "-target", "bpf", "-g", "-O2", "-w", "-c", "gen.c", "-o", "gen.o",
        ],
        dir,
    )?;
    let tool = common::bpftool_bin();
    let header = run(
        tool.to_str().ok_or("path")?,
        &["btf", "dump", "file", "gen.o", "format", "c", "-j"],
        dir,
    )?;
    std::fs::write(dir.join("gen.wasm.h"), &header).map_err(|e| e.to_string())?;
    for root in &prog.roots {
        if !header.contains(&format!("\n{root} {{\n")) {
            return Err(format!("{root} is not defined in the header"));
        }
    }
    let wasm = [
        "--target=wasm32",
        "-ffreestanding",
        "-fsyntax-only",
        "-Wall",
        "-Werror",
    ];
    run("clang", &[&wasm[..], &["gen.wasm.h"]].concat(), dir)?;
    run(
        "clang",
        &[&wasm[..], &["-x", "c++", "gen.wasm.h"]].concat(),
        dir,
    )?;
    let records = header.matches("static_assert(sizeof(struct ").count()
        + header.matches("static_assert(sizeof(union ").count();
    Ok((records, header.matches("static_assert(offsetof(").count()))
}

#[test]
fn random_structs_keep_their_bpf_layout_on_wasm32() {
    let seed = env_u64("ECC_PROPTEST_SEED", DEFAULT_SEED);
    let batches = env_u64("ECC_PROPTEST_BATCHES", DEFAULT_BATCHES);
    // Two workers: the machine has two cores and clang is the cost.
    let results: Vec<(u64, BatchResult, tempfile::TempDir)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..2u64)
            .map(|w| {
                s.spawn(move || {
                    (0..batches)
                        .filter(|b| b % 2 == w)
                        .map(|b| {
                            let dir = tempfile::tempdir().expect("tempdir");
                            let case = seed.wrapping_add(b);
                            (case, batch(case, dir.path()), dir)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker"))
            .collect()
    });
    let (mut records, mut offsets) = (0, 0);
    for (case, result, dir) in results {
        match result {
            Ok((r, o)) => {
                records += r;
                offsets += o;
            }
            Err(e) => {
                let kept = dir.keep();
                panic!(
                    "seed {case} failed (rerun with ECC_PROPTEST_SEED={case} ECC_PROPTEST_BATCHES=1; \
                     files kept in {}):\n{e}",
                    kept.display()
                );
            }
        }
    }
    eprintln!(
        "property test: {batches} batches of {PER_BATCH} top-level records: {records} records, {offsets} offsetof asserts"
    );
    assert!(records as u64 >= 200.min(batches * PER_BATCH as u64));
}
