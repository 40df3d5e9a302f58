//! Small shared pieces: atomic output writes (`fs`) and the two-way work split (`par`);
//! unit-test helpers (`testing`).

pub mod fs;
pub mod par;
#[cfg(test)]
pub mod testing;
