//! Any bytes as a package.json: the object inflated and modelled, and its program options.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::package(data));
