//! BTF reader tests on hand-built blobs: every kind, lookups, split BTF, .BTF.ext, and each
//! way a blob can be malformed, with the byte offset the error must point at.

#[path = "../../tests/common/btf_builder.rs"]
pub(super) mod builder;

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
        e.msg.contains(msg_part),
        "error '{}' does not mention '{msg_part}'",
        e.msg
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

#[test]
fn btf_ext_reads_func_line_and_core_records() {
    let ext = btf_ext(
        &[(5, vec![[0, 7], [64, 9]]), (11, vec![[8, 12]])],
        &[(
            5,
            vec![[0, 20, 30, (42 << 10) | 7], [16, 20, 31, (43 << 10) | 1]],
        )],
        &[(5, vec![[24, 3, 40, 0]])],
    );
    let e = BtfExt::parse(&ext).unwrap();
    let secs: Vec<_> = e.func_info.sections().collect();
    assert_eq!(secs.len(), 2);
    assert_eq!((secs[0].sec_name_off, secs[0].len()), (5, 2));
    assert_eq!(
        secs[0].func_infos().collect::<Vec<_>>(),
        [
            FuncInfo {
                insn_off: 0,
                type_id: 7
            },
            FuncInfo {
                insn_off: 64,
                type_id: 9
            }
        ]
    );
    assert_eq!(secs[1].sec_name_off, 11);
    assert_eq!(e.func_info.record_size(), 8);
    let li: Vec<_> = e
        .line_info
        .sections()
        .flat_map(|s| s.line_infos().collect::<Vec<_>>())
        .collect();
    assert_eq!(
        li[0],
        LineInfo {
            insn_off: 0,
            file_name_off: 20,
            line_off: 30,
            line: 42,
            col: 7
        }
    );
    assert_eq!((li[1].line, li[1].col), (43, 1));
    let cr: Vec<_> = e
        .core_relo
        .sections()
        .flat_map(|s| s.core_relos().collect::<Vec<_>>())
        .collect();
    assert_eq!(
        cr,
        [CoreRelo {
            insn_off: 24,
            type_id: 3,
            access_str_off: 40,
            kind: 0
        }]
    );
}

#[test]
fn btf_ext_without_core_relo_and_with_wider_records() {
    // A 24-byte header (no core_relo fields) and func_info records of 12 bytes.
    let mut d = Vec::new();
    d.extend_from_slice(&0xeb9fu16.to_le_bytes());
    d.extend_from_slice(&[1, 0]);
    for w in [24u32, 0, 36, 36, 0] {
        d.extend_from_slice(&w.to_le_bytes());
    }
    for w in [12u32, 3, 2, 0, 5, 99, 8, 6, 99] {
        d.extend_from_slice(&w.to_le_bytes());
    }
    let e = BtfExt::parse(&d).unwrap();
    let f: Vec<_> = e
        .func_info
        .sections()
        .flat_map(|s| s.func_infos().collect::<Vec<_>>())
        .collect();
    assert_eq!(
        f,
        [
            FuncInfo {
                insn_off: 0,
                type_id: 5
            },
            FuncInfo {
                insn_off: 8,
                type_id: 6
            }
        ]
    );
    assert_eq!(e.core_relo.sections().count(), 0);
    assert_eq!(e.line_info.sections().count(), 0);
}

/// Fuzz regression: reading a func_info group as line_info or core_relo records used to index
/// past the 8-byte records; now it reads nothing.
#[test]
fn btf_ext_wrong_record_kind_reads_nothing() {
    let ext = btf_ext(&[(5, vec![[0, 7]])], &[], &[]);
    let e = BtfExt::parse(&ext).unwrap();
    let s = e.func_info.sections().next().unwrap();
    assert_eq!(s.func_infos().count(), 1);
    assert_eq!(s.line_infos().count(), 0);
    assert_eq!(s.core_relos().count(), 0);
}

fn ext_err(d: &[u8]) -> Error {
    BtfExt::parse(d).expect_err("malformed .BTF.ext parsed")
}

#[test]
fn btf_ext_errors_have_offsets() {
    let good = btf_ext(&[(5, vec![[0, 7]])], &[], &[]);
    assert_err(ext_err(&good[..7]), 0, "too short");
    let mut bad = good.clone();
    bad[0] = 0x12;
    assert_err(ext_err(&bad), 0, "magic");
    let mut swapped = good.clone();
    swapped.swap(0, 1);
    assert_err(ext_err(&swapped), 0, "byte-swapped");
    let mut bad = good.clone();
    put_u32(&mut bad, 4, 8);
    assert_err(ext_err(&bad), 4, "header length");
    // func_info length runs past the end.
    let mut bad = good.clone();
    put_u32(&mut bad, 12, 1000);
    assert_err(ext_err(&bad), 8, "func_info is out of bounds");
    // line_info offset overflows.
    let mut bad = good.clone();
    put_u32(&mut bad, 16, u32::MAX);
    put_u32(&mut bad, 20, 4);
    assert_err(ext_err(&bad), 16, "line_info is out of bounds");
    // Record size smaller than a func_info: reported at the table start (the header end).
    let mut bad = good.clone();
    put_u32(&mut bad, 32, 4);
    assert_err(ext_err(&bad), 32, "bad record size");
    // Record count larger than the table: at the count field.
    let mut bad = good.clone();
    put_u32(&mut bad, 32 + 8, 3);
    assert_err(ext_err(&bad), 32 + 8, "bad record count");
    // A zero-count group is malformed too.
    let mut bad = good.clone();
    put_u32(&mut bad, 32 + 8, 0);
    assert_err(ext_err(&bad), 32 + 8, "bad record count");
}

fn small() -> Builder {
    let mut b = Builder::new();
    let int = b.int("int", 4, SIGNED, 0, 32);
    b.struct_("s", 4, &[("x", int, 0)]);
    b
}

#[test]
fn header_errors_point_at_the_bad_field() {
    let good = small().build();
    assert_err(parse_err(&[]), 0, "too short");
    assert_err(parse_err(&good[..7]), 0, "too short");
    // The header claims 24 bytes but the file is shorter.
    assert_err(parse_err(&good[..20]), 4, "header length");
    // Cut inside the type section: the header's type bounds no longer fit.
    assert_err(
        parse_err(&good[..HDR_LEN + 10]),
        8,
        "type section is out of bounds",
    );
    // Cut inside the string section.
    assert_err(
        parse_err(&good[..good.len() - 2]),
        16,
        "string section is out of bounds",
    );

    let garbage: Vec<u8> = (0..200u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    assert_err(parse_err(&garbage), 0, "bad BTF magic");
    let mut bad = good.clone();
    bad[1] = 0x00;
    assert_err(parse_err(&bad), 0, "bad BTF magic 0x009f");
    let mut swapped = good.clone();
    swapped.swap(0, 1);
    assert_err(parse_err(&swapped), 0, "byte-swapped");
    let mut bad = good.clone();
    bad[2] = 2;
    assert_err(parse_err(&bad), 2, "version 2");
    let mut bad = good.clone();
    put_u32(&mut bad, 4, 10);
    assert_err(parse_err(&bad), 4, "header length 10");
    let mut bad = good.clone();
    put_u32(&mut bad, 8, 2);
    assert_err(parse_err(&bad), 8, "type section");
    let mut bad = good.clone();
    put_u32(&mut bad, 16, u32::MAX);
    assert_err(parse_err(&bad), 16, "string section is out of bounds");
    let mut bad = good.clone();
    put_u32(&mut bad, 12, u32::MAX - 2);
    assert_err(parse_err(&bad), 8, "type section is out of bounds");
    // Strings start inside the types.
    let mut bad = good.clone();
    put_u32(&mut bad, 16, 4);
    assert_err(parse_err(&bad), 8, "overlap");
}

#[test]
fn longer_header_must_be_zero_padded() {
    let b = small();
    let plain = b.build();
    // Insert 8 bytes after the 24-byte header and bump hdr_len.
    let mut long = plain[..HDR_LEN].to_vec();
    long.extend_from_slice(&[0; 8]);
    long.extend_from_slice(&plain[HDR_LEN..]);
    put_u32(&mut long, 4, 32);
    let btf = Btf::parse(&long).unwrap();
    assert_eq!(btf.ty(2).unwrap().name(), "s");
    long[HDR_LEN + 3] = 1;
    assert_err(parse_err(&long), HDR_LEN, "non-zero");
}

#[test]
fn string_section_errors() {
    let b = small();
    let mut bad = b.build();
    let str_pos = b.str_pos();
    bad[str_pos] = b'x';
    assert_err(parse_err(&bad), str_pos, "start with a NUL");
    let mut bad = b.build();
    let last = bad.len() - 1;
    bad[last] = b'x';
    assert_err(parse_err(&bad), last, "NUL-terminated");
    // An empty string section has no leading NUL either.
    let mut bad = b.build();
    put_u32(&mut bad, 20, 0);
    assert_err(parse_err(&bad), str_pos, "start with a NUL");
}

#[test]
fn truncated_type_records() {
    let b = small();
    // Shrink type_len so the STRUCT's member runs past the type section.
    let mut bad = b.build();
    put_u32(&mut bad, 12, b.types_len() as u32 - 4);
    assert_err(parse_err(&bad), b.rec_pos(2), "STRUCT record runs past");
    // Leave less than a record header.
    let mut bad = b.build();
    put_u32(&mut bad, 12, (b.rec_pos(2) - HDR_LEN) as u32 + 8);
    assert_err(parse_err(&bad), b.rec_pos(2), "truncated BTF type record");
}

/// Big blobs check strings on the helper thread while this one indexes the types; the
/// errors must still come out as if one check ran after the other.
#[test]
fn big_blobs_report_string_errors_before_type_errors() {
    let mut b = Builder::new();
    let int = b.int("int", 4, SIGNED, 0, 32);
    while b.types_len() < 600 << 10 {
        b.ptr(int);
    }
    let last = b.ptr(int);
    let good = b.build();
    assert!(Btf::parse(&good).is_ok());
    let str_pos = HDR_LEN + b.types_len();
    // A truncated last record alone.
    let mut bad_types = good.clone();
    put_u32(&mut bad_types, 12, b.types_len() as u32 - 4);
    assert_err(
        parse_err(&bad_types),
        b.rec_pos(last),
        "truncated BTF type record",
    );
    // Bad UTF-8 in "int" alone, and then together with the truncated record.
    let mut bad_text = good.clone();
    bad_text[str_pos + 2] = 0xff;
    assert_err(parse_err(&bad_text), str_pos + 2, "not valid UTF-8");
    let mut both = bad_types.clone();
    both[str_pos + 2] = 0xff;
    assert_err(parse_err(&both), str_pos + 2, "not valid UTF-8");
}

#[test]
fn a_name_inside_a_multibyte_character_is_a_bad_string_offset() {
    // With a non-ASCII section, an offset must also start a character; an ASCII section
    // (vmlinux's) skips that read, so both paths are checked.
    let mut b = Builder::new();
    let int = b.int("int", 4, SIGNED, 0, 32);
    let name = b.s("caf\u{e9}");
    let t = b.raw(name + 4, Builder::info(k::TYPEDEF, false, 0), int, &[]);
    assert_err(
        parse_err(&b.build()),
        b.rec_pos(t),
        &format!("bad string offset {}", name + 4),
    );
    // The same offset into the middle of an ASCII name is a valid (suffix) string.
    let mut b = Builder::new();
    let int = b.int("int", 4, SIGNED, 0, 32);
    let name = b.s("cafe");
    let t = b.raw(name + 3, Builder::info(k::TYPEDEF, false, 0), int, &[]);
    let bytes = b.build();
    let btf = Btf::parse(&bytes).expect("an in-range ASCII offset is valid");
    assert_eq!(btf.ty(t).map(|t| t.name()), Some("e"));
}

#[test]
fn bad_string_offsets() {
    let mut b = Builder::new();
    let int = b.int("int", 4, SIGNED, 0, 32);
    let bad_off = b.str_len() + 50;
    let t = b.raw(bad_off, Builder::info(k::TYPEDEF, false, 0), int, &[]);
    assert_err(parse_err(&b.build()), b.rec_pos(t), "bad string offset");

    // Second member's name.
    let mut b = Builder::new();
    let int = b.int("int", 4, SIGNED, 0, 32);
    let n = b.s("a");
    let s = b.raw(
        0,
        Builder::info(k::STRUCT, false, 2),
        8,
        &[n, int, 0, 9999, int, 32],
    );
    assert_err(
        parse_err(&b.build()),
        b.rec_pos(s) + 12 + 12,
        "bad string offset 9999",
    );

    // An enumerator's name.
    let mut b = Builder::new();
    let e = b.raw(0, Builder::info(k::ENUM, false, 1), 4, &[777, 0]);
    assert_err(
        parse_err(&b.build()),
        b.rec_pos(e) + 12,
        "bad string offset 777",
    );

    // An ENUM64 enumerator's name (12-byte entries).
    let mut b = Builder::new();
    let e = b.raw(
        0,
        Builder::info(k::ENUM64, false, 2),
        8,
        &[0, 1, 0, 555, 0, 0],
    );
    assert_err(
        parse_err(&b.build()),
        b.rec_pos(e) + 12 + 12,
        "bad string offset 555",
    );

    // A parameter's name.
    let mut b = Builder::new();
    let int = b.int("int", 4, SIGNED, 0, 32);
    let p = b.raw(
        0,
        Builder::info(k::FUNC_PROTO, false, 1),
        int,
        &[123_456, int],
    );
    assert_err(
        parse_err(&b.build()),
        b.rec_pos(p) + 12,
        "bad string offset",
    );

    // An offset that lands past the end is bad even if it is a small overshoot.
    let mut b = Builder::new();
    let len = b.str_len();
    let t = b.raw(len, Builder::info(k::FWD, false, 0), 0, &[]);
    assert_err(parse_err(&b.build()), b.rec_pos(t), "bad string offset");
}

#[test]
fn type_ids_out_of_range() {
    let mut b = Builder::new();
    let p = b.ptr(2);
    assert_err(
        parse_err(&b.build()),
        b.rec_pos(p) + 8,
        "refers to type id 2, but there are only 2",
    );

    let mut b = Builder::new();
    let int = b.int("int", 4, SIGNED, 0, 32);
    let a = b.array(int, 40, 1);
    assert_err(parse_err(&b.build()), b.rec_pos(a) + 16, "type id 40");
    let mut b = Builder::new();
    let int = b.int("int", 4, SIGNED, 0, 32);
    let a = b.array(41, int, 1);
    assert_err(parse_err(&b.build()), b.rec_pos(a) + 12, "type id 41");

    let mut b = Builder::new();
    let int = b.int("int", 4, SIGNED, 0, 32);
    let s = b.struct_("s", 8, &[("a", int, 0), ("b", 77, 32)]);
    assert_err(
        parse_err(&b.build()),
        b.rec_pos(s) + 12 + 12 + 4,
        "type id 77",
    );

    let mut b = Builder::new();
    let int = b.int("int", 4, SIGNED, 0, 32);
    let p = b.func_proto(int, &[("x", int), ("y", 78)]);
    assert_err(
        parse_err(&b.build()),
        b.rec_pos(p) + 12 + 8 + 4,
        "type id 78",
    );

    let mut b = Builder::new();
    let d = b.datasec(".data", 4, &[(79, 0, 4)]);
    assert_err(parse_err(&b.build()), b.rec_pos(d) + 12, "type id 79");

    for kind in [
        k::TYPEDEF,
        k::CONST,
        k::VOLATILE,
        k::RESTRICT,
        k::TYPE_TAG,
        k::FUNC,
    ] {
        let mut b = Builder::new();
        let t = b.raw(0, Builder::info(kind, false, 0), 5, &[]);
        assert_err(parse_err(&b.build()), b.rec_pos(t) + 8, "type id 5");
    }
    let mut b = Builder::new();
    let v = b.var("v", 9, 1);
    assert_err(parse_err(&b.build()), b.rec_pos(v) + 8, "type id 9");
    let mut b = Builder::new();
    let d = b.decl_tag("t", 9, -1);
    assert_err(parse_err(&b.build()), b.rec_pos(d) + 8, "type id 9");
}

#[test]
fn members_outside_their_struct() {
    // A plain member starting past the end (found by fuzzing: format c padded up to it).
    let mut b = Builder::new();
    let int = b.int("int", 4, SIGNED, 0, 32);
    let s = b.struct_("s", 8, &[("a", int, 0), ("far", int, 0xffff_0000)]);
    assert_err(
        parse_err(&b.build()),
        b.rec_pos(s) + 12 + 12 + 8,
        "outside the 8-byte STRUCT",
    );
    // A bitfield whose last bit is past the end.
    let mut b = Builder::new();
    let int = b.int("int", 4, SIGNED, 0, 32);
    let u = b.union_kf("u", 4, &[("x", int, 30, 3)]);
    assert_err(
        parse_err(&b.build()),
        b.rec_pos(u) + 12 + 8,
        "outside the 4-byte UNION",
    );
    // Ending exactly at the end is fine, as is a flexible array starting there.
    let mut b = Builder::new();
    let int = b.int("int", 4, SIGNED, 0, 32);
    let flex = b.array(int, int, 0);
    b.struct_kf("ok", 4, &[("x", int, 29, 3), ("tail", flex, 32, 0)]);
    assert!(Btf::parse(&b.build()).is_ok());
}

#[test]
fn func_must_point_to_a_proto() {
    let mut b = Builder::new();
    let int = b.int("int", 4, SIGNED, 0, 32);
    let f = b.func("f", int, 1);
    assert_err(parse_err(&b.build()), b.rec_pos(f) + 8, "FUNC_PROTO");
}

#[test]
fn bad_int_sizes() {
    for (size, off, bits) in [(3, 0, 24), (4, 0, 33), (4, 8, 32), (0, 0, 0)] {
        let mut b = Builder::new();
        b.int("int", 4, SIGNED, 0, 32);
        let t = b.int("odd", size, 0, off, bits);
        assert_err(parse_err(&b.build()), b.rec_pos(t), "bad INT");
    }
}

#[test]
fn unknown_kinds() {
    for raw_kind in [0, 20, 31] {
        let mut b = Builder::new();
        b.int("int", 4, SIGNED, 0, 32);
        let t = b.raw(0, Builder::info(raw_kind, false, 0), 0, &[]);
        assert_err(
            parse_err(&b.build()),
            b.rec_pos(t) + 4,
            &format!("unknown BTF kind {raw_kind}"),
        );
    }
}

#[test]
fn reference_loops_are_rejected() {
    // typedef A -> typedef A
    let mut b = Builder::new();
    let id = b.next_id();
    let t = b.typedef("self", id);
    assert_err(parse_err(&b.build()), b.rec_pos(t), "reference loop");

    // typedef a -> b -> a: found when b's edge closes the loop.
    let mut b = Builder::new();
    b.typedef("a", 2);
    let t2 = b.typedef("b", 1);
    assert_err(
        parse_err(&b.build()),
        b.rec_pos(t2),
        "reference loop: type [1]",
    );

    // const -> volatile -> const
    let mut b = Builder::new();
    b.const_(2);
    let v = b.volatile(1);
    assert_err(parse_err(&b.build()), b.rec_pos(v), "reference loop");

    // ptr -> ptr -> ptr (first)
    let mut b = Builder::new();
    b.ptr(2);
    b.ptr(3);
    let p3 = b.ptr(1);
    assert_err(parse_err(&b.build()), b.rec_pos(p3), "loop of pointers");

    // struct containing itself by value, directly and through an array and a typedef.
    let mut b = Builder::new();
    let int = b.int("int", 4, SIGNED, 0, 32);
    let s = b.struct_("s", 8, &[("x", int, 0), ("me", 2, 32)]);
    assert_err(parse_err(&b.build()), b.rec_pos(s), "contains itself");
    let mut b = Builder::new();
    let int = b.int("int", 4, SIGNED, 0, 32);
    b.struct_("s", 8, &[("x", int, 0), ("arr", 3, 32)]);
    b.array(4, int, 2);
    let td = b.typedef("s_t", 2);
    assert_err(parse_err(&b.build()), b.rec_pos(td), "contains itself");
    // A VAR of itself.
    let mut b = Builder::new();
    let v = b.var("v", 1, 1);
    assert_err(parse_err(&b.build()), b.rec_pos(v), "reference loop");
}

#[test]
fn self_reference_through_a_pointer_is_fine() {
    // struct node { int v; struct node *next; }; and a typedef'd pointer loop through a struct.
    let mut b = Builder::new();
    let int = b.int("int", 4, SIGNED, 0, 32);
    let node = b.next_id();
    b.struct_("node", 16, &[("v", int, 0), ("next", node + 1, 64)]);
    let p = b.ptr(node);
    let td = b.typedef("node_t", node);
    let pt = b.ptr(td);
    // struct a { struct b *b; }; struct b { struct a a; };
    let a = b.next_id();
    b.struct_("a", 8, &[("b", a + 1, 0)]);
    b.ptr(a + 2);
    b.struct_("b", 8, &[("a", a, 0)]);
    // A function pointer member whose proto takes the struct itself.
    let cb = b.next_id();
    b.struct_("cb", 8, &[("fn", cb + 1, 0)]);
    b.ptr(cb + 2);
    b.func_proto(0, &[("self", cb + 3)]);
    b.ptr(cb);
    let data = b.build();
    let btf = Btf::parse(&data).unwrap();
    assert_eq!(btf.ty(p).unwrap().type_id(), node);
    assert_eq!(btf.skip_mods_and_typedefs(td).unwrap().id, node);
    assert_eq!(btf.ty(pt).unwrap().kind(), Kind::Ptr);
    assert_eq!(btf.size_of(a + 2), Some(8));
}

#[test]
fn too_long_vlen_is_a_truncated_record() {
    // vlen says 100 members, the section has room for one.
    let mut b = Builder::new();
    let int = b.int("int", 4, SIGNED, 0, 32);
    let s = b.raw(0, Builder::info(k::STRUCT, false, 100), 4, &[0, int, 0]);
    assert_err(
        parse_err(&b.build()),
        b.rec_pos(s),
        "runs past the type section",
    );
}

#[test]
fn empty_type_section_is_valid() {
    let b = Builder::new();
    let data = b.build();
    let btf = Btf::parse(&data).unwrap();
    assert_eq!(btf.type_count(), 1);
    assert_eq!(btf.local_ids().count(), 0);
}

#[test]
fn error_shift_moves_the_offset() {
    let e = Error::at(8, "x").shifted(100);
    assert_eq!(e.offset, 108);
    assert_eq!(e.to_string(), "byte offset 108: x");
}
