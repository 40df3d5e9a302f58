//! What the fuzz targets do with an input, shared with tests/fuzz_regressions.rs so every
//! crash that was found and fixed is replayed by `cargo test`.
// Each includer uses only some of these.
#![allow(dead_code)]

use ecc::btf::{ext::BtfExt, Btf, TypeView};

/// Walks every type's view, members, enumerators, params and section entries, then runs the
/// raw and C emitters.
fn walk(btf: &Btf<'_>) {
    for id in btf.ids() {
        let Some(t) = btf.ty(id) else { continue };
        let _ = (
            t.kind(),
            t.name(),
            t.size(),
            t.vlen(),
            t.linkage(),
            t.component_idx(),
        );
        for i in 0..t.vlen() {
            let _ = t.entry_name_off(i);
        }
        match t.view() {
            TypeView::Struct(c) | TypeView::Union(c) => {
                for m in c.members() {
                    let _ = btf.ty(m.type_id);
                }
            }
            TypeView::Enum(e) => {
                for v in e.values() {
                    let _ = (v.name, v.bits);
                }
            }
            TypeView::FuncProto(p) => {
                for prm in p.params() {
                    let _ = btf.ty(prm.type_id);
                }
            }
            _ => {}
        }
        for v in t.datasec_vars() {
            let _ = btf.ty(v.type_id);
        }
        let _ = (t.array(), t.int());
        let _ = btf.size_of(id);
        let _ = btf.skip_mods_and_typedefs(id);
        if !t.name().is_empty() {
            let _ = btf.find(t.name(), t.kind());
        }
    }
    let _ = ecc::emit::raw::dump(btf);
    // Gaps of 4 KiB or more become one byte array, so output stays proportional to input.
    let _ = ecc::emit::c::dump(btf, &[]);
}

/// The `btf_parse` target: the bytes as BTF, as split BTF on themselves, and as .BTF.ext.
pub fn btf_parse(data: &[u8]) {
    if let Ok(btf) = Btf::parse(data) {
        walk(&btf);
        if let Ok(split) = Btf::parse_split(data, &btf) {
            walk(&split);
        }
    }
    if let Ok(ext) = BtfExt::parse(data) {
        for table in [ext.func_info, ext.line_info, ext.core_relo] {
            for s in table.sections() {
                let _ = (s.len(), s.sec_name_off);
                s.func_infos().for_each(drop);
                s.line_infos().for_each(drop);
                s.core_relos().for_each(drop);
            }
        }
    }
}

/// The `elf_parse` target: the bytes as a BPF object, then its BTF through `walk`.
pub fn elf_parse(data: &[u8]) {
    if let Ok(obj) = ecc::elf::object::Object::parse(data) {
        for d in &obj.datasecs {
            let _ = obj.section(&d.name).map(|s| obj.section_data(s));
        }
        walk(&obj.btf);
    }
    let _ = ecc::elf::object::btf_section(data);
}
