//! Replays every input under fuzz/regressions/ (crashes the fuzzers found, since fixed)
//! through the fuzz targets' own harness. A file named `TARGET-...` goes to that target
//! (`elf_*` to `elf_parse`, anything else to `btf_parse`); all must return without panicking.

#[path = "../fuzz/harness.rs"]
mod harness;

#[test]
fn fuzz_regressions_do_not_panic() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/regressions");
    let mut n = 0;
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for p in files {
        let data = std::fs::read(&p).unwrap();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let target = harness::TARGETS
            .iter()
            .find(|(t, _)| name.strip_prefix(t).is_some_and(|r| r.starts_with('-')));
        let (tname, run) = match target {
            Some(&(t, f)) => (t, f),
            None if name.starts_with("elf_") => {
                ("elf_parse", harness::elf_parse as harness::Target)
            }
            None => ("btf_parse", harness::btf_parse as harness::Target),
        };
        eprintln!("replaying {name} through {tname}");
        run(&data);
        n += 1;
    }
    assert!(n > 0, "no regression inputs under {dir}");
}
