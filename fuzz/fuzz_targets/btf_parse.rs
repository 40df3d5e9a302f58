//! Any bytes into the BTF reader, every view, the raw and C emitters, and .BTF.ext.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::btf_parse(data));
