//! Small shared pieces: atomic output writes (`fs`) and the two-way work split (`par`).

pub mod fs;
pub mod par;
