//! Emitters: pure functions from the BTF/object model to text. No I/O happens here.

pub mod c;
pub mod cdecl;
pub mod cstr;
pub mod ewasm;
pub mod raw;
pub mod skeleton;
pub mod skeleton_wasm;
pub mod wasm;
