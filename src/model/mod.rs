//! What an object declares, decided once before any text is written: the skeleton model
//! (maps, programs, data sections with libbpf's names) and the package.json model.

pub mod package;
pub mod skeleton;
