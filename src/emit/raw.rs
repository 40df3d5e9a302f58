//! `format raw`: bpftool's plain-text listing of every type.

use crate::btf::Btf;

pub fn dump(btf: &Btf<'_>) -> String {
    let mut out = String::new();
    for id in btf.local_ids() {
        if let Some(t) = btf.ty(id) {
            out.push_str(&format!("{t:?}\n"));
        }
    }
    out
}
