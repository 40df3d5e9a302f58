//! ecc: compiles eBPF C programs into eunomia packages, skeletons and Wasm-layout headers.
//!
//! Data flows one way: an ELF object is read into `object::Object` (with `btf::Btf` inside),
//! emitters in `emit` turn that model into text, and the binaries write the results.
//! `driver` runs the `ecc` compile: `compile` (clang), `vmlinux`, `strip`, `doc`, `export`
//! and `package`.

pub mod btf;
pub mod compile;
pub mod ctype;
pub mod doc;
pub mod driver;
pub mod emit;
pub mod export;
pub mod fsutil;
pub mod layout;
pub mod loader;
pub mod object;
pub mod package;
pub mod par;
pub mod skeleton;
pub mod strip;
pub mod vmlinux;
