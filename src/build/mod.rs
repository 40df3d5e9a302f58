//! The `ecc` compile pipeline: clang (`compile`), the generated and cached `vmlinux.h`
//! (`vmlinux`), Wasm guests (`wasm`), doc comments through libclang (`doc`), the event header's export types
//! (`export`), and the driver that runs them and writes the outputs (`driver`).

pub mod compile;
pub mod doc;
pub mod driver;
pub mod export;
pub mod vmlinux;
pub mod wasm;
