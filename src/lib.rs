//! ecc: compiles eBPF C programs into eunomia packages, skeletons and Wasm-layout headers.
//!
//! Data flows one way (see ARCHITECTURE.md):
//!
//! ```text
//! source ─ build::compile ─▶ ELF ─ elf::strip ─▶ elf::object::Object { btf::Btf, maps, progs, datasecs }
//!                                                  │
//!          model::{names, skeleton, package} ◀─────┴──▶ layout (Wasm IR)
//!                         │                                │
//!                         └──────▶ emit (pure) ◀───────────┘ ─▶ text ─ util::fs ─▶ files
//! runner: verify / run read the package back and load it with libbpf.
//! ```
//!
//! `build::driver` runs the whole `ecc` compile; `emit::c::dump`, `emit::wasm::header` and
//! `emit::skeleton::native` are what `wasm-bpftool` prints. Names are decided in `model` before
//! anything is emitted, and every C declarator goes through `emit::cdecl`.
//!
//! Features (on by default): `loader` (the `runner` module, on libbpf-rs) and `docs` (doc
//! comments through libclang). Without them the BTF reader, the models and the emitters build
//! alone.

pub mod btf;
pub mod btfgen;
pub mod build;
pub mod cli;
pub mod elf;
pub mod emit;
pub mod init;
pub mod layout;
pub mod model;
#[cfg(feature = "oci")]
pub mod oci;
mod parse_error;
#[cfg(feature = "loader")]
pub mod runner;
pub mod util;

pub use parse_error::{ParseError, ParseErrorKind};
