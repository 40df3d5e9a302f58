//! What an object declares, decided once before any text is written: the skeleton model
//! (maps, programs, data sections with libbpf's names), the package.json model, and the C
//! type names package.json uses.

pub mod ctype;
pub mod package;
pub mod skeleton;
