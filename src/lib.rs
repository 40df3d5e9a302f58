//! ecc: compiles eBPF C programs into eunomia packages, skeletons and Wasm-layout headers.
//!
//! Data flows one way (see ARCHITECTURE.md):
//!
//! ```text
//! source ─ build::compile ─▶ ELF ─ elf::strip ─▶ elf::object::Object { btf::Btf, maps, progs, datasecs }
//!                                                  │
//!                        model::{skeleton, package} ◀┘──▶ layout (Wasm IR)
//!                                    │                        │
//!                                    └──────▶ emit ◀──────────┘ ─▶ text ─ util::fs ─▶ files
//! runner: verify / run read the package back and load it with libbpf.
//! ```
//!
//! `build::driver` runs the whole `ecc` compile.

pub mod btf;
pub mod build;
pub mod elf;
pub mod emit;
pub mod layout;
pub mod model;
#[cfg(feature = "oci")]
pub mod oci;
pub mod runner;
pub mod util;
