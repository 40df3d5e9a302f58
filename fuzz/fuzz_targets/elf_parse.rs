//! Any bytes into the ELF object model, then its BTF through the same walk as btf_parse.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::elf_parse(data));
