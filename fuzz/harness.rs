//! What the fuzz targets do with an input, shared with tests/fuzz_regressions.rs so every
//! crash that was found and fixed is replayed by `cargo test`. Each target takes the bytes
//! as far down the pipeline as they go: parse, model, lay out, emit.
// Each includer uses only some of these.
#![allow(dead_code)]

#[path = "../tests/common/btf_builder.rs"]
mod btf_builder;

use arbitrary::Unstructured;
use ecc::btf::{ext::BtfExt, Btf, TypeView};
use ecc::elf::object::Object;

/// A target's entry point.
pub type Target = fn(&[u8]);

/// Every target by name, for the regression replay: a file named `TARGET-...` goes to TARGET.
pub const TARGETS: &[(&str, Target)] = &[
    ("btf_parse", btf_parse),
    ("btf_gen", btf_gen),
    ("elf_parse", elf_parse),
    ("strip", strip),
    ("package", package),
    ("decode", decode),
];

/// Walks every type's view, members, enumerators, params and section entries, then runs the
/// raw, C and Wasm-header emitters and the C type names.
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
        let _ = (btf.size_of(id), btf.nesting(id));
        let _ = btf.skip_mods_and_typedefs(id);
        if !t.name().is_empty() {
            let _ = btf.find(t.name(), t.kind());
        }
        let _ = ecc::emit::cdecl::type_name(btf, id);
    }
    let _ = ecc::emit::raw::dump(btf);
    // Gaps of 4 KiB or more become one byte array, so output stays proportional to input.
    let _ = ecc::emit::c::dump(btf, &[]);
    let _ = ecc::emit::wasm::header_for(btf, ecc::layout::Selection::All, "FUZZ_H");
}

/// The `btf_parse` target: the bytes as BTF, as split BTF on themselves, and as .BTF.ext.
pub fn btf_parse(data: &[u8]) {
    if let Ok(btf) = Btf::parse(data) {
        walk(&btf);
        if let Ok(split) = Btf::parse_split(data, &btf) {
            walk(&split);
        }
    }
    btf_ext(data);
}

/// Every record of every .BTF.ext table.
fn btf_ext(data: &[u8]) {
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

/// The `elf_parse` target: the bytes as a BPF object, then its BTF through `walk`, its
/// skeleton (native and Wasm) and its package metadata.
pub fn elf_parse(data: &[u8]) {
    if let Ok(obj) = Object::parse(data) {
        object_model(&obj, data);
    }
    let _ = ecc::elf::object::btf_section(data);
}

fn object_model(obj: &Object<'_>, data: &[u8]) {
    for d in &obj.datasecs {
        let _ = obj.section(&d.name).map(|s| obj.section_data(s));
    }
    walk(&obj.btf);
    if let Ok(skel) = ecc::model::skeleton::Skeleton::new(obj, "fuzz") {
        let _ = ecc::emit::skeleton::native(&skel, &obj.btf, data);
        if let Ok(layout) = skel.wasm_layout(&obj.btf) {
            let _ = ecc::emit::skeleton_wasm::wasm(&skel, &layout, data);
        }
    }
    let (meta, _warnings) = ecc::model::package::build_meta(obj, "fuzz", None, Vec::new());
    let _ = ecc::model::package::to_json(&meta);
}

/// The `strip` target: DWARF stripping, then the stripped object through the object model
/// and through the strip again.
pub fn strip(data: &[u8]) {
    let Ok(out) = ecc::elf::strip::strip_debug(data) else {
        return;
    };
    if let Ok(obj) = Object::parse(&out) {
        let _ = (obj.maps.len(), obj.programs.len());
    }
    let _ = ecc::elf::strip::strip_debug(&out);
}

/// The `package` target: the bytes as a package.json, its object inflated and modelled,
/// and its program options.
pub fn package(data: &[u8]) {
    let Ok(pkg) = serde_json::from_slice::<ecc::runner::input::Package>(data) else {
        return;
    };
    if let Ok(elf) = ecc::runner::input::unpack_object(&pkg) {
        if let Ok(obj) = Object::parse(&elf) {
            object_model(&obj, &elf);
            program_options(&obj, Some(&pkg.meta));
        }
    }
}

/// `ecc run`'s program options from the package's variables and the object's data (their
/// initial values included), and the help they make.
fn program_options(obj: &Object<'_>, meta: Option<&ecc::runner::input::Meta>) {
    use ecc::runner::options::{command, specs};
    for meta in [meta, None] {
        if let Ok(s) = specs(obj, meta) {
            let _ = command("p", "ecc run p.json", None, &s).render_help();
        }
    }
}

/// The `decode` target: a ring-buffer event decoded against each type of a BTF blob. The
/// first two bytes give the BTF's length; the rest after it is the event.
pub fn decode(data: &[u8]) {
    let Some((len, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let n = usize::from(u16::from_le_bytes(*len)).min(rest.len());
    let (blob, event) = rest.split_at(n);
    let Ok(btf) = Btf::parse(blob) else { return };
    decode_all(&btf, event);
}

fn decode_all(btf: &Btf<'_>, event: &[u8]) {
    for id in btf.ids() {
        if let Ok(v) = ecc::runner::decode::decode(btf, id, event) {
            let _ = (v.to_text(), v.to_json());
            let mut ints = Vec::new();
            v.integers(&mut ints);
        }
        let _ = ecc::runner::decode::column_names(btf, id);
    }
}

/// The `btf_gen` target, structure-aware: the bytes describe a BTF (types built from
/// earlier ones, with chains that repeat one step hundreds of times and element counts
/// near `u32::MAX`), so deep and huge types are reached from a few bytes. The built blob
/// then goes through everything `btf_parse` and `decode` do.
pub fn btf_gen(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(blob) = describe(&mut u) else { return };
    btf_parse(&blob);
    if let Ok(btf) = Btf::parse(&blob) {
        decode_all(&btf, u.take_rest());
    }
}

fn describe(u: &mut Unstructured<'_>) -> arbitrary::Result<Vec<u8>> {
    use btf_builder::{Builder, CHAR, SIGNED};
    let mut b = Builder::new();
    let mut ids = vec![
        b.int("int", 4, SIGNED, 0, 32),
        b.int("char", 1, CHAR | SIGNED, 0, 8),
        b.int("long", 8, SIGNED, 0, 64),
    ];
    let names = ["", "", "a", "b", "s", "t", "int", "x"];
    let steps = u.int_in_range(0..=24u32)?;
    for _ in 0..steps {
        let pick = |u: &mut Unstructured<'_>, ids: &[u32]| -> arbitrary::Result<u32> {
            // Mostly recent types (to build chains), sometimes void or any earlier one.
            Ok(match u.int_in_range(0..=7u8)? {
                0 => 0,
                1 => *u.choose(ids)?,
                _ => ids[ids.len() - 1],
            })
        };
        let name = *u.choose(&names)?;
        let t = pick(u, &ids)?;
        let count: u32 = match u.int_in_range(0..=3u8)? {
            0 => u.int_in_range(0..=4)?,
            1 => u32::MAX - u.int_in_range(0..=8)?,
            2 => 1 << u.int_in_range(0..=31)?,
            _ => u.arbitrary()?,
        };
        let id = match u.int_in_range(0..=15u8)? {
            0 => b.ptr(t),
            1 => b.array(t, ids[0], count),
            2 => b.typedef(if name.is_empty() { "t" } else { name }, t),
            3 => b.const_(t),
            4 => b.volatile(t),
            5 | 6 => {
                let n = u.int_in_range(0..=4usize)?;
                let mut members = Vec::with_capacity(n);
                for i in 0..n {
                    let m = pick(u, &ids)?;
                    let off = u.int_in_range(0..=64u32)?;
                    members.push((["m0", "m1", "m2", "m3", "m4"][i], m, off));
                }
                let size = u.int_in_range(0..=64)?;
                if u.arbitrary()? {
                    b.struct_(name, size, &members)
                } else {
                    b.union_(name, size, &members)
                }
            }
            7 => b.func_proto(t, &[("p", pick(u, &ids)?), ("", pick(u, &ids)?)]),
            8 => b.enum_(name, 4, u.arbitrary()?, &[("A", u.arbitrary()?), ("B", 1)]),
            9 => b.fwd(if name.is_empty() { "f" } else { name }, u.arbitrary()?),
            10 => b.var(if name.is_empty() { "v" } else { name }, t, 1),
            11 => {
                let off = u.int_in_range(0..=16)?;
                b.datasec(".data", u.int_in_range(0..=32)?, &[(t, off, count % 64)])
            }
            12 => b.float("double", 8),
            // A chain: one step repeated, enough to pass MAX_NESTING.
            _ => {
                let mut id = t;
                let step = u.int_in_range(0..=5u8)?;
                for i in 0..u.int_in_range(1..=600u32)? {
                    id = match step {
                        0 => b.array(id, ids[0], 1 + i % 2),
                        1 => b.ptr(id),
                        2 => b.typedef("t", id),
                        3 => b.struct_("", 8, &[("m", id, 0)]),
                        4 => {
                            let p = b.ptr(id);
                            b.struct_("", 8, &[("p", p, 0)])
                        }
                        _ => b.const_(id),
                    };
                }
                id
            }
        };
        ids.push(id);
    }
    Ok(b.build())
}
