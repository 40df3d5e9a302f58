//! Layout IR tests: hand-built BTF for exact cases and error paths, and the committed
//! testdata objects for invariants that must hold for every record.

use super::*;
use crate::btf::Btf;

/// Just enough of a BTF writer to build the cases below.
#[derive(Default)]
struct B {
    types: Vec<u8>,
    strs: Vec<u8>,
    next: u32,
}

type M<'s> = (&'s str, u32, u32, u8);

impl B {
    fn new() -> B {
        B {
            types: Vec::new(),
            strs: vec![0],
            next: 1,
        }
    }
    fn s(&mut self, name: &str) -> u32 {
        if name.is_empty() {
            return 0;
        }
        let off = self.strs.len() as u32;
        self.strs.extend_from_slice(name.as_bytes());
        self.strs.push(0);
        off
    }
    fn words(&mut self, w: &[u32]) -> u32 {
        for x in w {
            self.types.extend_from_slice(&x.to_le_bytes());
        }
        self.next += 1;
        self.next - 1
    }
    fn int(&mut self, name: &str, size: u32, signed: bool) -> u32 {
        let n = self.s(name);
        let enc = if signed { 1 << 24 } else { 0 };
        self.words(&[n, 1 << 24, size, enc | (size * 8)])
    }
    fn ptr(&mut self, to: u32) -> u32 {
        self.words(&[0, 2 << 24, to])
    }
    fn fwd(&mut self, name: &str) -> u32 {
        let n = self.s(name);
        self.words(&[n, 7 << 24, 0])
    }
    fn typedef(&mut self, name: &str, to: u32) -> u32 {
        let n = self.s(name);
        self.words(&[n, 8 << 24, to])
    }
    fn array(&mut self, elem: u32, index: u32, n: u32) -> u32 {
        self.words(&[0, 3 << 24, 0, elem, index, n])
    }
    fn record(&mut self, union: bool, name: &str, size: u32, members: &[M<'_>]) -> u32 {
        let n = self.s(name);
        let kind = if union { 5 } else { 4 };
        let kflag = members.iter().any(|m| m.3 > 0);
        let info = (kind << 24) | (u32::from(kflag) << 31) | members.len() as u32;
        let mut w = vec![n, info, size];
        for &(mname, ty, bit_off, bits) in members {
            let mn = self.s(mname);
            w.extend([mn, ty, (u32::from(bits) << 24) | bit_off]);
        }
        self.words(&w)
    }
    fn enumeration(&mut self, name: &str, size: u32, values: &[(&str, i32)]) -> u32 {
        let n = self.s(name);
        let mut w = vec![n, (6 << 24) | values.len() as u32, size];
        for &(vn, v) in values {
            let vn = self.s(vn);
            w.extend([vn, v as u32]);
        }
        self.words(&w)
    }
    fn blob(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&0xeb9fu16.to_le_bytes());
        out.extend_from_slice(&[1, 0]);
        for w in [24, 0, self.types.len() as u32, self.types.len() as u32] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(&(self.strs.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.types);
        out.extend_from_slice(&self.strs);
        out
    }
}

fn build(blob: &[u8], types: &[&str]) -> Result<Vec<Item<'static>>, Error> {
    // Leaking keeps the test code free of lifetime plumbing; a few KB per test.
    let blob: &'static [u8] = Box::leak(blob.to_vec().into_boxed_slice());
    let btf: &'static Btf<'static> = Box::leak(Box::new(Btf::parse(blob).expect("valid BTF")));
    let names: Vec<String> = types.iter().map(|s| s.to_string()).collect();
    let names: &'static [String] = Box::leak(names.into_boxed_slice());
    Layout::build(btf, Selection::Types(names)).map(|l| l.items)
}

fn record<'i>(items: &'i [Item<'static>], name: &str) -> &'i Record<'static> {
    items
        .iter()
        .find_map(|i| match i {
            Item::Record(r) if r.name.as_deref() == Some(name) => Some(r),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no record {name} in {items:#?}"))
}

fn layout_err(b: &B, ty: &str) -> String {
    build(&b.blob(), &[ty]).expect_err("must fail").to_string()
}

#[test]
fn holes_become_explicit_padding_including_tail_padding() {
    let mut b = B::new();
    let int = b.int("int", 4, true);
    let long = b.int("long", 8, true);
    // struct s { int a; /* 4 */ long l; int c; /* 4 */ } as BPF lays it out: size 24.
    b.record(
        false,
        "s",
        24,
        &[("a", int, 0, 0), ("l", long, 64, 0), ("c", int, 128, 0)],
    );
    let items = build(&b.blob(), &["s"]).expect("lays out");
    let s = record(&items, "s");
    assert_eq!(s.size, 24);
    let pads: Vec<(u32, u32)> = s
        .fields
        .iter()
        .filter_map(|f| match f {
            Field::Pad { name, offset, len } => {
                assert!(name.starts_with("__pad"));
                Some((*offset, *len))
            }
            _ => None,
        })
        .collect();
    assert_eq!(pads, [(4, 4), (20, 4)]);
    assert!(s.fields.iter().any(|f| matches!(
        f,
        Field::Member {
            name: Some("l"),
            ty: FieldType::Scalar(Scalar::Fixed {
                bytes: 8,
                signed: true
            }),
            offset: 8,
            ..
        }
    )));
}

#[test]
fn pointers_and_long_become_64_bit_and_opaque_targets_need_no_definition() {
    let mut b = B::new();
    let ulong = b.int("long unsigned int", 8, false);
    let opaque = b.fwd("opaque");
    let p = b.ptr(opaque);
    b.record(false, "s", 16, &[("p", p, 0, 0), ("n", ulong, 64, 0)]);
    let items = build(&b.blob(), &["s"]).expect("lays out");
    assert_eq!(items.len(), 1, "the forward-declared target is not emitted");
    let s = record(&items, "s");
    assert!(matches!(
        &s.fields[0],
        Field::Member {
            ty: FieldType::Pointer,
            size: 8,
            ..
        }
    ));
    assert!(matches!(
        &s.fields[1],
        Field::Member {
            ty: FieldType::Scalar(Scalar::Fixed {
                bytes: 8,
                signed: false
            }),
            ..
        }
    ));
}

/// A compact picture of a record's fields: `name@bit:width`, `pad@byte x len`, `name@byte`.
fn shape(r: &Record<'_>) -> Vec<String> {
    r.fields
        .iter()
        .map(|f| match f {
            Field::Bitfield {
                name,
                bit_offset,
                bits,
                ..
            } => format!("{}@{bit_offset}:{bits}", name.unwrap_or("_")),
            Field::Pad { offset, len, .. } => format!("pad@{offset}x{len}"),
            Field::Member { name, offset, .. } => format!("{}@{offset}", name.unwrap_or("_")),
        })
        .collect()
}

#[test]
fn bitfields_keep_bit_positions_with_padding_bits() {
    let mut b = B::new();
    let uint = b.int("unsigned int", 4, false);
    let ch = b.int("char", 1, true);
    b.record(
        false,
        "bf",
        8,
        &[("a", uint, 0, 3), ("b", uint, 13, 7), ("c", ch, 32, 0)],
    );
    let items = build(&b.blob(), &["bf"]).expect("lays out");
    // Bits to the byte boundary, then the rest of the hole; after `b` (ends at bit 20) a
    // packed struct would put `c` at byte 3, so one pad byte moves it to byte 4.
    assert_eq!(
        shape(record(&items, "bf")),
        ["a@0:3", "_@3:5", "_@8:5", "b@13:7", "pad@3x1", "c@4", "pad@5x3"]
    );
}

#[test]
fn wide_bit_holes_use_a_byte_array() {
    let mut b = B::new();
    let ull = b.int("long long unsigned int", 8, false);
    b.record(false, "w", 16, &[("x", ull, 2, 4), ("y", ull, 70, 40)]);
    let items = build(&b.blob(), &["w"]).expect("lays out");
    assert_eq!(
        shape(record(&items, "w")),
        ["_@0:2", "x@2:4", "_@6:2", "pad@1x7", "_@64:6", "y@70:40", "pad@14x2"]
    );
}

#[test]
fn old_style_int_bitfields_are_read_from_the_int_type() {
    // kind_flag 0: the member's INT type carries the width (bits 5 at offset 0 of a u32).
    let mut b = B::new();
    let n = b.s("unsigned int");
    let narrow = b.words(&[n, 1 << 24, 4, 5]);
    b.record(false, "o", 4, &[("f", narrow, 3, 0)]);
    let items = build(&b.blob(), &["o"]).expect("lays out");
    assert_eq!(shape(record(&items, "o")), ["_@0:3", "f@3:5", "pad@1x3"]);
}

#[test]
fn unions_pad_to_their_size_and_inline_anonymous_members() {
    let mut b = B::new();
    let int = b.int("int", 4, true);
    let ch = b.int("char", 1, true);
    let anon = b.record(false, "", 8, &[("lo", int, 0, 0), ("hi", int, 32, 0)]);
    // union u { char c; struct { int lo, hi; }; } with BTF size 16 (e.g. aligned(16)).
    b.record(true, "u", 16, &[("c", ch, 0, 0), ("", anon, 0, 0)]);
    let items = build(&b.blob(), &["u"]).expect("lays out");
    let u = record(&items, "u");
    assert_eq!(u.kind, RecordKind::Union);
    assert_eq!(shape(u), ["c@0", "_@0", "pad@0x16"]);
    let Field::Member {
        ty: FieldType::Inline(inner),
        name: None,
        ..
    } = &u.fields[1]
    else {
        panic!("anonymous struct not inline: {:?}", u.fields[1]);
    };
    assert_eq!(shape(inner), ["lo@0", "hi@4"]);
    assert_eq!(items.len(), 1, "anonymous types are not separate items");
}

#[test]
fn pad_names_skip_member_names_and_are_shared_with_anonymous_members() {
    let mut b = B::new();
    let int = b.int("int", 4, true);
    let ch = b.int("char", 1, true);
    let anon = b.record(false, "", 8, &[("c", ch, 0, 0), ("x", int, 32, 0)]);
    b.record(
        false,
        "p",
        16,
        &[("__pad0", ch, 0, 0), ("", anon, 32, 0), ("z", ch, 96, 0)],
    );
    let items = build(&b.blob(), &["p"]).expect("lays out");
    let mut pads = Vec::new();
    fn walk(fields: &[Field<'_>], out: &mut Vec<String>) {
        for f in fields {
            match f {
                Field::Pad { name, .. } => out.push(name.to_string()),
                Field::Member { ty, .. } => {
                    if let Some(r) = inline_of(ty) {
                        walk(&r.fields, out)
                    }
                }
                Field::Bitfield { .. } => {}
            }
        }
    }
    walk(&record(&items, "p").fields, &mut pads);
    assert_eq!(pads, ["__pad1", "__pad2", "__pad3"]);
}

#[test]
fn enums_are_fixed_width_integers_of_their_btf_size() {
    let mut b = B::new();
    let e1 = b.enumeration("small", 1, &[("S_A", 1), ("S_B", 200)]);
    let e8 = b.enumeration("big", 8, &[("B_A", -1)]);
    b.record(false, "e", 16, &[("s", e1, 0, 0), ("b", e8, 64, 0)]);
    let items = build(&b.blob(), &["e"]).expect("lays out");
    let e = record(&items, "e");
    assert!(
        matches!(&e.fields[0], Field::Member { ty: FieldType::Enum { repr: Scalar::Fixed { bytes: 1, signed: false }, name: Some(n) }, .. } if n == "small")
    );
    assert!(matches!(
        &e.fields[2],
        Field::Member {
            ty: FieldType::Enum {
                repr: Scalar::Fixed { bytes: 8, .. },
                ..
            },
            ..
        }
    ));
    // The constants come first, in dependency order.
    let Item::Enum(small) = &items[0] else {
        panic!("{items:#?}")
    };
    assert_eq!(small.values, [("S_A".into(), 1), ("S_B".into(), 200)]);
}

#[test]
fn clashing_names_get_suffixes_and_provided_typedefs_are_transparent() {
    let mut b = B::new();
    let int = b.int("int", 4, true);
    let ulong = b.int("long unsigned int", 8, false);
    let size_t = b.typedef("size_t", ulong);
    b.record(false, "foo", 8, &[("n", size_t, 0, 0)]);
    b.record(true, "foo", 4, &[("i", int, 0, 0)]);
    b.enumeration("", 4, &[("NULL", 0), ("FOO", 1)]);
    b.enumeration("other", 4, &[("FOO", 2)]);
    let items = build(&b.blob(), &["struct foo", "union foo", "other", ""]);
    assert_eq!(
        items.expect_err("no type has an empty name"),
        Error::NoSuchType(String::new())
    );
    let items = build(&b.blob(), &["struct foo", "union foo", "other"]).expect("lays out");
    let s = record(&items, "foo");
    assert_eq!(s.kind, RecordKind::Struct);
    assert!(
        matches!(
            &s.fields[0],
            Field::Member {
                ty: FieldType::Scalar(Scalar::Fixed {
                    bytes: 8,
                    signed: false
                }),
                ..
            }
        ),
        "size_t is printed as what it stands for: {:?}",
        s.fields[0]
    );
    assert_eq!(record(&items, "foo___2").kind, RecordKind::Union);
    let Some(Item::Enum(other)) = items.last() else {
        panic!("{items:#?}")
    };
    assert_eq!(other.values[0].0, "FOO___2");
    let items = build(&b.blob(), &["foo"]).expect("lays out");
    assert_eq!(items.len(), 2, "a plain name selects every kind");
}

#[test]
fn enumerators_named_like_header_macros_are_renamed() {
    let mut b = B::new();
    let e = b.enumeration("", 4, &[("NULL", 0), ("true", 1)]);
    b.record(false, "s", 4, &[("v", e, 0, 0)]);
    let items = build(&b.blob(), &["s"]).expect("lays out");
    let Item::Enum(def) = &items[0] else {
        panic!("{items:#?}")
    };
    assert_eq!(def.values, [("NULL___2".into(), 0), ("true___2".into(), 1)]);
}

#[test]
fn bad_layouts_are_errors_with_a_breadcrumb() {
    let mut b = B::new();
    let int = b.int("int", 4, true);
    let long = b.int("long", 8, true);
    b.record(false, "past", 8, &[("a", int, 0, 0), ("b", long, 32, 0)]);
    assert_eq!(
        layout_err(&b, "past"),
        "struct past: member 'b': bytes 4..12 run past the end (8 bytes)"
    );
    let mut b = B::new();
    let int = b.int("int", 4, true);
    b.record(false, "overlap", 8, &[("a", int, 0, 0), ("b", int, 16, 0)]);
    assert_eq!(
        layout_err(&b, "overlap"),
        "struct overlap: member 'b': starts at byte 2 but earlier members reach byte 4"
    );
    let mut b = B::new();
    let int = b.int("int", 4, true);
    b.record(true, "u", 8, &[("a", int, 0, 0), ("b", int, 32, 0)]);
    assert_eq!(
        layout_err(&b, "u"),
        "union u: member 'b': union member at byte offset 4"
    );
    let mut b = B::new();
    let ch = b.int("char", 1, true);
    b.record(false, "wide", 4, &[("a", ch, 0, 9)]);
    assert_eq!(
        layout_err(&b, "wide"),
        "struct wide: member 'a': bitfield of 9 bits is wider than its type"
    );
    let mut b = B::new();
    let fwd = b.fwd("opaque");
    b.record(false, "inc", 4, &[("o", fwd, 0, 0)]);
    assert_eq!(
        layout_err(&b, "inc"),
        "struct inc: member 'o': has incomplete type struct opaque"
    );
    let mut b = B::new();
    let int = b.int("int", 4, true);
    let inner = b.record(false, "", 4, &[("x", int, 3, 0)]);
    b.record(false, "deep", 4, &[("in", inner, 0, 0)]);
    assert_eq!(
        layout_err(&b, "deep"),
        "struct deep: member 'in': member 'x': bit offset 3 is not at a byte boundary"
    );
}

#[test]
fn deep_nesting_is_rejected_at_parse_and_the_deepest_valid_nesting_lays_out() {
    let nested = |levels: u32| {
        let mut b = B::new();
        let int = b.int("int", 4, true);
        let mut t = b.record(false, "", 4, &[("x", int, 0, 0)]);
        for _ in 0..levels {
            t = b.record(false, "", 4, &[("x", t, 0, 0)]);
        }
        b.record(false, "top", 4, &[("x", t, 0, 0)]);
        b
    };
    let err = Btf::parse(&nested(2000).blob())
        .err()
        .expect("2000 levels parsed");
    assert!(err.to_string().contains("nested more than"), "{err}");
    // int, the innermost record, `levels` records and `top`: MAX_NESTING types deep.
    let deepest = nested(crate::btf::MAX_NESTING - 3);
    let items = build(&deepest.blob(), &["top"]).expect("the deepest valid BTF lays out");
    assert!(!items.is_empty());
}

#[test]
fn arrays_of_structs_and_zero_length_arrays() {
    let mut b = B::new();
    let int = b.int("int", 4, true);
    let idx = b.int("__ARRAY_SIZE_TYPE__", 4, false);
    let el = b.record(false, "el", 12, &[("v", int, 0, 0)]);
    let arr = b.array(el, idx, 3);
    let grid = b.array(int, idx, 2);
    let grid2 = b.array(grid, idx, 2);
    let flex = b.array(int, idx, 0);
    b.record(
        false,
        "a",
        52,
        &[
            ("els", arr, 0, 0),
            ("g", grid2, 288, 0),
            ("tail", flex, 416, 0),
        ],
    );
    let items = build(&b.blob(), &["a"]).expect("lays out");
    assert_eq!(shape(record(&items, "el")), ["v@0", "pad@4x8"]);
    let a = record(&items, "a");
    assert_eq!(shape(a), ["els@0", "g@36", "tail@52"]);
    let Field::Member { ty, size, .. } = &a.fields[1] else {
        panic!()
    };
    assert_eq!(*size, 16);
    assert!(
        matches!(ty, FieldType::Array { len: 2, elem } if matches!(**elem, FieldType::Array { len: 2, .. }))
    );
}

/// Every struct's fields tile it: no overlap, and no hole except the implicit bits up to the
/// next byte after a bitfield (where a packed struct puts the next member on its own).
fn check_tiling(r: &Record<'_>, what: &str) {
    if r.kind == RecordKind::Union {
        for f in &r.fields {
            match f {
                Field::Member { offset, size, .. } => {
                    assert_eq!(*offset, 0, "{what}");
                    assert!(*size <= r.size, "{what}");
                }
                Field::Bitfield { bit_offset, .. } => assert_eq!(*bit_offset, 0, "{what}"),
                Field::Pad { offset, len, .. } => {
                    assert_eq!((*offset, *len), (0, r.size), "{what}")
                }
            }
        }
    } else {
        let mut cursor = 0u64;
        for f in &r.fields {
            let (start, end, byte_aligned) = match f {
                Field::Member { offset, size, .. } => {
                    let s = u64::from(*offset) * 8;
                    (s, s + u64::from(*size) * 8, true)
                }
                Field::Pad { offset, len, .. } => {
                    let s = u64::from(*offset) * 8;
                    (s, s + u64::from(*len) * 8, true)
                }
                Field::Bitfield {
                    bit_offset, bits, ..
                } => {
                    let s = u64::from(*bit_offset);
                    (s, s + u64::from(*bits), false)
                }
            };
            let expect = if byte_aligned {
                cursor.div_ceil(8) * 8
            } else {
                cursor
            };
            assert_eq!(start, expect, "{what}: hole or overlap before {f:?}");
            cursor = end;
        }
        assert_eq!(cursor.div_ceil(8), u64::from(r.size), "{what}: size");
    }
    for f in &r.fields {
        if let Field::Member { ty, size, .. } = f {
            if let Some(inner) = inline_of(ty) {
                check_tiling(inner, &format!("{what} > inline"));
                if let FieldType::Inline(_) = ty {
                    assert_eq!(inner.size, *size, "{what}");
                }
            }
        }
    }
}

#[test]
fn every_record_of_the_testdata_objects_tiles_exactly() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut checked = 0;
    for name in [
        "types.bpf.o",
        "bootstrap.bpf.o",
        "maps.bpf.o",
        "globals.bpf.o",
    ] {
        let data = std::fs::read(dir.join(name)).expect("committed testdata");
        let (blob, _) = crate::elf::object::btf_section(&data).expect("has .BTF");
        let btf = Btf::parse(blob).expect("valid BTF");
        let layout = Layout::build(&btf, Selection::All).expect("lays out");
        for item in &layout.items {
            match item {
                Item::Record(r) => {
                    check_tiling(r, &format!("{name}: {:?}", r.name));
                    checked += 1;
                }
                Item::Typedef(Typedef {
                    ty: FieldType::Inline(r),
                    name,
                    ..
                }) => check_tiling(r, &format!("{name}: {name}")),
                _ => {}
            }
        }
    }
    assert!(checked > 50, "only {checked} records");
}

#[test]
fn testdata_types_come_out_as_the_bpf_side_lays_them_out() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/types.bpf.o");
    let data = std::fs::read(path).expect("committed testdata");
    let (blob, _) = crate::elf::object::btf_section(&data).expect("has .BTF");
    let btf = Btf::parse(blob).expect("valid BTF");
    let layout = Layout::build(&btf, Selection::All).expect("lays out");
    let rec = |n: &str| {
        layout
            .items
            .iter()
            .find_map(|i| match i {
                Item::Record(r) if r.name.as_deref() == Some(n) => Some(r),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no {n}"))
    };
    // Zero-width bitfield: after_zero starts the next 4-byte unit, at bit 160.
    assert!(shape(rec("bits")).contains(&"after_zero@160:4".to_string()));
    assert!(shape(rec("bits")).contains(&"neg@192:33".to_string()));
    assert_eq!(
        shape(rec("has_over_aligned")),
        ["c@0", "pad@1x63", "oa@64", "tail@128", "pad@129x63"]
    );
    assert_eq!(shape(rec("packed")), ["c@0", "i@1", "ll@5", "s@13"]);
    assert_eq!(shape(rec("flex")), ["len@0", "kind@4", "data@6", "pad@6x2"]);
    assert_eq!(rec("everything").size, 480);
}
