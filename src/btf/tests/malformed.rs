//! Malformed blobs: each error names the byte offset it must point at.

use super::*;

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
    assert!(b.types_len() >= crate::btf::index::PARALLEL_MIN_BYTES);
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

/// Big blobs split validation over two threads (half of the records and one loop search
/// each); problems must still come out in the order one thread would find them: records
/// in file order, then the Strong graph, then the Naming one. Depths merge across both.
#[test]
fn big_blobs_report_problems_as_if_checked_in_one_pass() {
    // Over 512 KiB of records, so that the parallel path runs; problems are planted at both
    // ends.
    let blob = |bad_low: bool, bad_high: bool, naming_loop: bool, strong_loop: bool| {
        let mut b = Builder::new();
        let int = b.int("int", 4, SIGNED, 0, 32);
        let mut ids = Vec::new();
        // ptr -> ptr -> ptr (first): a loop in the Naming graph only.
        let p1 = b.next_id();
        ids.push(b.ptr(if naming_loop { p1 + 1 } else { int }));
        ids.push(b.ptr(p1));
        let bad = |b: &mut Builder, on: bool| match on {
            true => b.raw(1 << 30, Builder::info(k::TYPEDEF, false, 0), int, &[]),
            false => b.typedef("t", int),
        };
        ids.push(bad(&mut b, bad_low));
        while b.types_len() < 600 << 10 {
            b.ptr(int);
        }
        // A struct containing itself: a loop in the Strong graph only.
        let s = b.next_id();
        let member = if strong_loop { s } else { int };
        ids.push(b.struct_("s", 4, &[("me", member, 0)]));
        ids.push(bad(&mut b, bad_high));
        (b, ids)
    };
    let (b, ids) = blob(false, false, false, false);
    assert!(b.types_len() >= crate::btf::index::PARALLEL_MIN_BYTES);
    let data = b.build();
    let btf = Btf::parse(&data).expect("clean big blob");
    // ptr -> ptr -> int: depth 3 in the Naming graph, 1 in the Strong one (a pointer is a
    // leaf there); the struct is 2 deep in the Strong graph only.
    assert_eq!(btf.nesting(ids[1]), 3);
    assert_eq!(btf.nesting(ids[3]), 2);
    assert_eq!(btf.size_of(ids[3]), Some(4));

    let (b, ids) = blob(true, true, true, true);
    let bad_offset = format!("bad string offset {}", 1 << 30);
    assert_err(parse_err(&b.build()), b.rec_pos(ids[2]), &bad_offset);
    let (b, ids) = blob(false, true, true, true);
    assert_err(parse_err(&b.build()), b.rec_pos(ids[4]), &bad_offset);
    let (b, ids) = blob(false, false, true, true);
    assert_err(parse_err(&b.build()), b.rec_pos(ids[3]), "contains itself");
    let (b, ids) = blob(false, false, true, false);
    assert_err(parse_err(&b.build()), b.rec_pos(ids[1]), "loop of pointers");
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
