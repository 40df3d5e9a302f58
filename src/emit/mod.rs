//! Emitters: pure functions from the BTF/object model to text. No I/O happens here.

pub mod c;
pub mod ewasm;
pub mod raw;
