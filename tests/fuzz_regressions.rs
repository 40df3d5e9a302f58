//! Replays every input under fuzz/regressions/ (crashes the fuzzers found, since fixed)
//! through the fuzz targets' own harness. A file named `elf_*` goes to the ELF target, the
//! rest to the BTF target; both must return without panicking.

#[path = "../fuzz/harness.rs"]
mod harness;

#[test]
fn fuzz_regressions_do_not_panic() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/regressions");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let data = std::fs::read(&p).unwrap();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        eprintln!("replaying {name}");
        if name.starts_with("elf_") {
            harness::elf_parse(&data);
        } else {
            harness::btf_parse(&data);
        }
        n += 1;
    }
    assert!(n > 0, "no regression inputs under {dir}");
}
