//! BTF reader tests on hand-built blobs: every kind, lookups and split BTF here; .BTF.ext in
//! `ext`, malformed blobs and the byte offsets their errors point at in `malformed`.

#[path = "../../tests/common/btf_builder.rs"]
pub(crate) mod builder;
mod ext;
mod malformed;

use super::ext::{BtfExt, CoreRelo, FuncInfo, LineInfo};
use super::{Btf, Error, Kind, TypeView};
use builder::{btf_ext, kind as k, put_u32, Builder, BOOL, CHAR, HDR_LEN, SIGNED};

fn parse_err(bytes: &[u8]) -> Error {
    match Btf::parse(bytes) {
        Ok(_) => panic!("blob of {} bytes parsed, but it is malformed", bytes.len()),
        Err(e) => e,
    }
}

fn split_err(bytes: &[u8], base: &Btf<'_>) -> Error {
    match Btf::parse_split(bytes, base) {
        Ok(_) => panic!("split blob parsed, but it is malformed"),
        Err(e) => e,
    }
}

#[track_caller]
fn assert_err(e: Error, offset: usize, msg_part: &str) {
    assert_eq!(e.offset, offset, "wrong offset for error: {e}");
    assert!(
        e.kind.to_string().contains(msg_part),
        "error '{}' does not mention '{msg_part}'",
        e.kind
    );
}

/// Ids of the `every` blob, by what they are.
struct Ids {
    int: u32,
    uint: u32,
    ch: u32,
    bool_: u32,
    ptr: u32,
    arr: u32,
    plain: u32,
    bits: u32,
    wide: u32,
    uni: u32,
    e_u: u32,
    e_s: u32,
    e64: u32,
    fwd_s: u32,
    fwd_u: u32,
    tdef: u32,
    vol: u32,
    cst: u32,
    rst: u32,
    proto: u32,
    varargs: u32,
    func: u32,
    var: u32,
    sec: u32,
    flt: u32,
    dtag: u32,
    ttag: u32,
}

fn every() -> (Builder, Ids) {
    let mut b = Builder::new();
    let int = b.int("int", 4, SIGNED, 0, 32);
    let uint = b.int("unsigned int", 4, 0, 0, 32);
    let ch = b.int("char", 1, CHAR | SIGNED, 0, 8);
    let bool_ = b.int("_Bool", 1, BOOL, 0, 8);
    let ptr = b.ptr(int);
    let arr = b.array(ch, uint, 16);
    let plain = b.struct_("plain", 16, &[("a", int, 0), ("p", ptr, 64)]);
    let bits = b.struct_kf(
        "bits",
        8,
        &[("x", uint, 0, 3), ("y", uint, 3, 29), ("z", int, 32, 0)],
    );
    // Without kind_flag the whole word is the bit offset, even past 24 bits.
    let wide = b.struct_("wide", 0x20_0004, &[("far", int, 0x100_0000)]);
    let uni = b.union_kf("uni", 4, &[("i", int, 0, 0), ("b", uint, 0, 1)]);
    let e_u = b.enum_("e_u", 4, false, &[("A", 0), ("B", 0xffff_fffe)]);
    let e_s = b.enum_("e_s", 4, true, &[("NEG", -5), ("POS", 7)]);
    let e64 = b.enum64(
        "e64",
        8,
        false,
        &[("BIG", 0x1_0000_0002), ("MAX", u64::MAX)],
    );
    let fwd_s = b.fwd("fs", false);
    let fwd_u = b.fwd("fu", true);
    let tdef = b.typedef("myint", int);
    let vol = b.volatile(tdef);
    let cst = b.const_(vol);
    let rst = b.restrict(ptr);
    let proto = b.func_proto(int, &[("a", int), ("s", ptr)]);
    let varargs = b.func_proto(0, &[("fmt", ptr), ("", 0)]);
    let func = b.func("f", proto, 1);
    let var = b.var("v", arr, 2);
    let sec = b.datasec(".data", 20, &[(var, 4, 16)]);
    let flt = b.float("double", 8);
    let dtag = b.decl_tag("tag", plain, 1);
    let ttag = b.type_tag("user", int);
    let ids = Ids {
        int,
        uint,
        ch,
        bool_,
        ptr,
        arr,
        plain,
        bits,
        wide,
        uni,
        e_u,
        e_s,
        e64,
        fwd_s,
        fwd_u,
        tdef,
        vol,
        cst,
        rst,
        proto,
        varargs,
        func,
        var,
        sec,
        flt,
        dtag,
        ttag,
    };
    (b, ids)
}

#[test]
fn every_kind_reads_back() {
    let (b, i) = every();
    let data = b.build();
    let btf = Btf::parse(&data).unwrap();
    assert_eq!(btf.type_count(), i.ttag + 1);
    assert_eq!(btf.first_id(), 1);
    let t = |id| btf.ty(id).unwrap();

    let kinds = [
        (i.int, Kind::Int),
        (i.ptr, Kind::Ptr),
        (i.arr, Kind::Array),
        (i.plain, Kind::Struct),
        (i.uni, Kind::Union),
        (i.e_u, Kind::Enum),
        (i.e64, Kind::Enum64),
        (i.fwd_s, Kind::Fwd),
        (i.tdef, Kind::Typedef),
        (i.vol, Kind::Volatile),
        (i.cst, Kind::Const),
        (i.rst, Kind::Restrict),
        (i.func, Kind::Func),
        (i.proto, Kind::FuncProto),
        (i.var, Kind::Var),
        (i.sec, Kind::Datasec),
        (i.flt, Kind::Float),
        (i.dtag, Kind::DeclTag),
        (i.ttag, Kind::TypeTag),
    ];
    for (id, kind) in kinds {
        assert_eq!(t(id).kind(), kind, "kind of [{id}]");
        assert_eq!(btf.kind_of(id), Some(kind), "indexed kind of [{id}]");
        assert_eq!(t(id).id, id);
    }
    assert_eq!(btf.kind_of(0), Some(Kind::Void));
    assert_eq!(btf.kind_of(btf.type_count()), None);
    // The index keeps each record's third word: a size or a type id, by kind.
    for id in btf.ids() {
        assert_eq!(btf.word_of(id), Some(t(id).size()), "word of [{id}]");
        let resolved = btf.skip_mods_and_typedefs(id).map(|t| t.id);
        assert_eq!(btf.resolve(id), resolved, "resolve [{id}]");
    }
    assert_eq!(btf.word_of(btf.type_count()), None);
    assert_eq!(btf.resolve(i.cst), Some(i.int));
    assert_eq!(btf.resolve(i.tdef), Some(i.int));

    // INT encodings.
    let int = t(i.int).int().unwrap();
    assert!(int.is_signed() && !int.is_char() && !int.is_bool());
    assert_eq!((int.bits, int.offset, t(i.int).size()), (32, 0, 4));
    let ch = t(i.ch).int().unwrap();
    assert!(ch.is_char() && ch.is_signed());
    assert!(t(i.bool_).int().unwrap().is_bool());
    assert!(!t(i.uint).int().unwrap().is_signed());
    assert_eq!(t(i.ptr).int(), None);

    assert_eq!(t(i.ptr).type_id(), i.int);
    let a = t(i.arr).array().unwrap();
    assert_eq!((a.elem, a.index, a.nelems), (i.ch, i.uint, 16));

    // Members: plain offsets, kind_flag bitfields, and a wide non-kflag offset.
    let m: Vec<_> = t(i.plain).members().collect();
    assert_eq!(m.len(), 2);
    assert_eq!((m[1].name, m[1].type_id, m[1].bit_offset), ("p", i.ptr, 64));
    assert_eq!(m[1].bitfield_size, 0);
    let m: Vec<_> = t(i.bits).members().collect();
    assert!(t(i.bits).kind_flag());
    assert_eq!((m[0].bit_offset, m[0].bitfield_size), (0, 3));
    assert_eq!((m[1].bit_offset, m[1].bitfield_size), (3, 29));
    assert_eq!(
        (m[2].name, m[2].bit_offset, m[2].bitfield_size),
        ("z", 32, 0)
    );
    let far = t(i.wide).members().next().unwrap();
    assert_eq!((far.bit_offset, far.bitfield_size), (0x100_0000, 0));
    assert_eq!(t(i.wide).size(), 0x20_0004);
    let u: Vec<_> = t(i.uni).members().collect();
    assert_eq!((u[1].name, u[1].bitfield_size), ("b", 1));
    assert_eq!(
        t(i.int).members().len(),
        0,
        "non-composites have no members"
    );

    // Enums: signed values sign-extend, unsigned zero-extend, ENUM64 keeps 64 bits.
    let v: Vec<_> = t(i.e_u).enum_values().collect();
    assert_eq!(
        (v[1].name, v[1].bits, v[1].signed),
        ("B", 0xffff_fffe, false)
    );
    let v: Vec<_> = t(i.e_s).enum_values().collect();
    assert_eq!(
        (v[0].name, v[0].bits as i64, v[0].signed),
        ("NEG", -5, true)
    );
    assert_eq!(v[1].bits, 7);
    let v: Vec<_> = t(i.e64).enum_values().collect();
    assert_eq!((v[0].bits, v[1].bits), (0x1_0000_0002, u64::MAX));
    assert_eq!(t(i.e64).size(), 8);

    // Forward declarations know struct from union.
    assert!(matches!(
        t(i.fwd_s).view(),
        TypeView::Fwd {
            name: "fs",
            is_union: false
        }
    ));
    assert!(matches!(
        t(i.fwd_u).view(),
        TypeView::Fwd {
            name: "fu",
            is_union: true
        }
    ));

    // Modifier chain and typedef.
    assert_eq!(t(i.cst).type_id(), i.vol);
    assert_eq!(t(i.vol).type_id(), i.tdef);
    assert_eq!(t(i.rst).type_id(), i.ptr);
    assert_eq!(t(i.tdef).name(), "myint");

    // Functions: linkage, return type, params, varargs as a trailing void.
    assert!(
        matches!(t(i.func).view(), TypeView::Func { name: "f", proto, linkage: 1 } if proto == i.proto)
    );
    let TypeView::FuncProto(p) = t(i.proto).view() else {
        panic!("FUNC_PROTO view")
    };
    assert_eq!(p.ret(), i.int);
    let params: Vec<_> = p.params().map(|p| (p.name, p.type_id)).collect();
    assert_eq!(params, [("a", i.int), ("s", i.ptr)]);
    let last = t(i.varargs).params().last().unwrap();
    assert_eq!((last.name, last.type_id), ("", 0));
    assert_eq!(t(i.varargs).type_id(), 0);

    // Variables and sections.
    assert!(
        matches!(t(i.var).view(), TypeView::Var { name: "v", type_id, linkage: 2 } if type_id == i.arr)
    );
    assert_eq!(t(i.var).linkage(), 2);
    let d: Vec<_> = t(i.sec).datasec_vars().collect();
    assert_eq!((d[0].type_id, d[0].offset, d[0].size), (i.var, 4, 16));
    assert!(matches!(
        t(i.sec).view(),
        TypeView::Datasec {
            name: ".data",
            size: 20
        }
    ));
    assert!(matches!(
        t(i.flt).view(),
        TypeView::Float {
            name: "double",
            size: 8
        }
    ));

    // Tags.
    assert_eq!(
        (t(i.dtag).type_id(), t(i.dtag).component_idx()),
        (i.plain, 1)
    );
    assert_eq!(t(i.int).component_idx(), -1);
    assert!(
        matches!(t(i.ttag).view(), TypeView::TypeTag { name: "user", target } if target == i.int)
    );

    // Composite, enum and proto views wrap the same records.
    let TypeView::Struct(s) = t(i.bits).view() else {
        panic!("STRUCT view")
    };
    assert_eq!((s.name(), s.size(), s.members().len()), ("bits", 8, 3));
    let TypeView::Union(u) = t(i.uni).view() else {
        panic!("UNION view")
    };
    assert_eq!(u.members().len(), 2);
    let TypeView::Enum(e) = t(i.e_s).view() else {
        panic!("ENUM view")
    };
    assert!(e.is_signed());
    assert_eq!(e.values().len(), 2);

    // Raw entry name offsets: member "a" is named, anonymous entries are 0.
    assert_eq!(btf.str_at(t(i.plain).entry_name_off(0)), Some("a"));
    assert_eq!(t(i.varargs).entry_name_off(1), 0);
    assert_eq!(t(i.plain).entry_name_off(5), 0);
}

#[test]
fn void_and_out_of_range_ids() {
    let (b, i) = every();
    let data = b.build();
    let btf = Btf::parse(&data).unwrap();
    let void = btf.ty(0).unwrap();
    assert_eq!((void.kind(), void.name()), (Kind::Void, ""));
    assert!(matches!(void.view(), TypeView::Void));
    assert!(btf.ty(i.ttag + 1).is_none());
    assert!(btf.ty(u32::MAX).is_none());
    assert_eq!(btf.ids(), 1..i.ttag + 1);
}

#[test]
fn lookups_by_name_kind_and_size() {
    let mut b = Builder::new();
    let int = b.int("int", 4, SIGNED, 0, 32);
    let s = b.struct_("foo", 8, &[("a", int, 0), ("b", int, 32)]);
    let td = b.typedef("foo", s);
    let arr = b.array(td, int, 3);
    let c = b.const_(td);
    let p = b.ptr(c);
    let e = b.enum_("foo_e", 2, false, &[("X", 1)]);
    let proto = b.func_proto(0, &[]);
    let f = b.func("fn", proto, 0);
    let v = b.var("gv", arr, 1);
    let data = b.build();
    let btf = Btf::parse(&data).unwrap();

    assert_eq!(btf.find_by_name("foo").collect::<Vec<_>>(), [s, td]);
    assert_eq!(btf.find_by_name("int").collect::<Vec<_>>(), [int]);
    assert_eq!(btf.find_by_name("nope").count(), 0);
    assert_eq!(
        btf.find_by_name("").count(),
        0,
        "anonymous types have no name"
    );
    assert_eq!(btf.find("foo", Kind::Typedef).unwrap().id, td);
    assert_eq!(btf.find("foo", Kind::Struct).unwrap().id, s);
    assert!(btf.find("foo", Kind::Union).is_none());

    assert_eq!(btf.skip_mods_and_typedefs(c).unwrap().id, s);
    assert_eq!(btf.skip_mods_and_typedefs(p).unwrap().id, p);
    assert_eq!(btf.size_of(c), Some(8));
    assert_eq!(btf.size_of(arr), Some(24));
    assert_eq!(btf.size_of(p), Some(8));
    assert_eq!(btf.size_of(e), Some(2));
    assert_eq!(btf.size_of(v), Some(24), "a VAR has its type's size");
    assert_eq!(btf.size_of(f), None);
    assert_eq!(btf.size_of(0), None);
    assert_eq!(btf.size_of(999), None);
}

fn split_pair() -> (Vec<u8>, Vec<u8>, u32) {
    let mut b = Builder::new();
    let int = b.int("int", 4, SIGNED, 0, 32);
    b.struct_("base_s", 4, &[("x", int, 0)]);
    let base = b.build();
    let mut s = Builder::split(b.next_id(), b.str_len());
    let l = s.int("long", 8, SIGNED, 0, 64);
    // A split record named with a base string ("int" sits at base offset 1).
    s.raw(1, Builder::info(k::TYPEDEF, false, 0), l, &[]);
    s.struct_("mod_s", 16, &[("b", 2, 0), ("l", l, 64)]);
    (base, s.build(), l)
}

#[test]
fn split_btf_continues_base_ids_and_strings() {
    let (base, split, l) = split_pair();
    let base = Btf::parse(&base).unwrap();
    let btf = Btf::parse_split(&split, &base).unwrap();
    assert_eq!(l, 3);
    assert_eq!(btf.first_id(), 3);
    assert_eq!(btf.type_count(), 6);
    assert_eq!(btf.local_ids(), 3..6);
    assert_eq!(btf.ids(), 1..6);
    assert!(btf.base().is_some());
    // Base types resolve through the split.
    assert_eq!(btf.ty(1).unwrap().name(), "int");
    assert_eq!(btf.ty(2).unwrap().kind(), Kind::Struct);
    let kinds: Vec<_> = (0..7).map(|id| btf.kind_of(id)).collect();
    let (int, st, td) = (Kind::Int, Kind::Struct, Kind::Typedef);
    assert_eq!(
        kinds,
        [
            Some(Kind::Void),
            Some(int),
            Some(st),
            Some(int),
            Some(td),
            Some(st),
            None
        ]
    );
    assert_eq!((btf.word_of(1), btf.word_of(4)), (Some(4), Some(l)));
    let td = btf.ty(4).unwrap();
    assert_eq!(
        (td.kind(), td.name(), td.type_id()),
        (Kind::Typedef, "int", l)
    );
    let m: Vec<_> = btf.ty(5).unwrap().members().collect();
    assert_eq!((m[0].name, m[0].type_id), ("b", 2));
    assert_eq!(btf.find_by_name("int").collect::<Vec<_>>(), [1, 4]);
    assert_eq!(btf.find("base_s", Kind::Struct).unwrap().id, 2);
    assert_eq!(btf.size_of(5), Some(16));
    assert_eq!(btf.size_of(2), Some(4));
    assert!(btf.ty(6).is_none());
}

#[test]
fn split_btf_errors_point_into_the_split_blob() {
    let (base, _, _) = split_pair();
    let base = Btf::parse(&base).unwrap();
    let base_types = base.type_count();
    let base_strs = base.strings_len() as u32;

    let mut s = Builder::split(base_types, base_strs);
    s.int("long", 8, SIGNED, 0, 64);
    let p = s.ptr(base_types + 5);
    assert_err(
        split_err(&s.build(), &base),
        s.rec_pos(p) + 8,
        "refers to type id",
    );

    let mut s = Builder::split(base_types, base_strs);
    let t = s.raw(base_strs + 100, Builder::info(k::TYPEDEF, false, 0), 1, &[]);
    assert_err(
        split_err(&s.build(), &base),
        s.rec_pos(t),
        "bad string offset",
    );

    // A split loop through a base type id cannot happen (base is done), but a local one can.
    let mut s = Builder::split(base_types, base_strs);
    let a = s.typedef("a", base_types + 1);
    let b2 = s.typedef("b", a);
    assert_err(
        split_err(&s.build(), &base),
        s.rec_pos(b2),
        "reference loop",
    );
}
