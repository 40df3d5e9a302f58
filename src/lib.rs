//! ecc: compiles eBPF C programs into eunomia packages, skeletons and Wasm-layout headers.
//!
//! Data flows one way: an ELF object is read into `object::Object` (with `btf::Btf` inside),
//! emitters in `emit` turn that model into text, and the binaries write the results.

pub mod btf;
pub mod emit;
pub mod fsutil;
pub mod layout;
pub mod object;
mod par;
pub mod skeleton;
