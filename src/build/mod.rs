//! The `ecc` compile pipeline: clang (`compile`), the generated and cached `vmlinux.h`
//! (`vmlinux`), doc comments through libclang (`doc`), the event header's export types
//! (`export`), the precompiled vmlinux.h (`pch`), user flags (`flags`), Wasm guests
//! (`wasm`, behind `ecc build-wasm`), the driver that runs them and writes the outputs
//! (`driver`), and `Build`, the driver as a builder for build.rs.

pub mod builder;
pub use builder::Build;

pub mod compile;
pub mod doc;
pub mod driver;
pub mod export;
pub mod flags;
pub mod pch;
pub mod vmlinux;
pub mod wasm;
