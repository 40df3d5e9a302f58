//! What an object declares, decided once before any text is written: the skeleton model
//! (maps, programs, data sections with libbpf's names), the package.json model, and the C
//! names of BTF types.

pub mod names;
pub mod package;
pub mod skeleton;
