//! A small description of a BTF (see harness::describe) built into a blob: deep and huge types.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::btf_gen(data));
