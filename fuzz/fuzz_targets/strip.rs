//! Any bytes into strip_debug, and a stripped result back through the object model.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::strip(data));
