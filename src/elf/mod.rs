//! The object model: a compiled BPF ELF read into sections, symbols, programs, maps and data
//! sections (`object`), and DWARF stripping of the same bytes (`strip`).

pub mod object;
pub mod strip;
