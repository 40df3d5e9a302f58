//! `format c`: a C header from BTF, good enough to be vmlinux.h.

use crate::btf::Btf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no type named '{0}'")]
    NoSuchType(String),
}

pub fn dump(_btf: &Btf<'_>, _only: &[String]) -> Result<String, Error> {
    Ok(String::new())
}
