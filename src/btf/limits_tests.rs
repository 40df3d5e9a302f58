//! Validation's per-type facts: resolved sizes and nesting depth, and the blobs rejected for
//! exceeding `u32::MAX` bytes or `MAX_NESTING` levels.

use super::tests::builder::{Builder, SIGNED};
use super::{Btf, MAX_NESTING};

#[test]
fn sizes_resolve_through_typedefs_modifiers_arrays_and_vars() {
    let mut b = Builder::new();
    let int = b.int("int", 4, SIGNED, 0, 32);
    let td = b.typedef("i", int);
    let c = b.const_(td);
    let arr = b.array(c, int, 3);
    let arr2 = b.array(arr, int, 5);
    let var = b.var("v", arr2, 1);
    let ptr = b.ptr(var);
    let s = b.struct_("s", 60, &[("a", arr2, 0)]);
    let proto = b.func_proto(int, &[]);
    let data = b.build();
    let btf = Btf::parse(&data).unwrap();
    assert_eq!(btf.size_of(td), Some(4));
    assert_eq!(btf.size_of(c), Some(4));
    assert_eq!(btf.size_of(arr), Some(12));
    assert_eq!(btf.size_of(arr2), Some(60));
    assert_eq!(btf.size_of(var), Some(60));
    assert_eq!(btf.size_of(ptr), Some(8));
    assert_eq!(btf.size_of(s), Some(60));
    assert_eq!(btf.size_of(proto), None);
    assert_eq!(btf.size_of(0), None);
    assert_eq!(btf.size_of(9999), None);
    // Depth: int 1, typedef 2, const 3, arr 4, arr2 5; the struct contains arr2 by value.
    assert_eq!(btf.nesting(int), 1);
    assert_eq!(btf.nesting(arr2), 5);
    assert_eq!(btf.nesting(s), 6);
    assert_eq!(btf.nesting(ptr), 7, "a pointer names its target");
}

#[test]
fn arrays_larger_than_u32_max_are_rejected_where_they_overflow() {
    let mut b = Builder::new();
    let int = b.int("int", 4, SIGNED, 0, 32);
    let inner = b.array(int, int, 1 << 30); // exactly 4 GiB: one byte too many
    let data = b.build();
    let e = Btf::parse(&data).err().expect("4 GiB array accepted");
    assert_eq!(e.offset, b.rec_pos(inner));
    assert!(
        e.kind
            .to_string()
            .contains(&format!("type [{inner}] is larger than")),
        "{e}"
    );

    let mut b = Builder::new();
    let int = b.int("int", 4, SIGNED, 0, 32);
    let ok = b.array(int, int, u32::MAX / 4);
    let wrap = b.array(ok, int, 2);
    let data = b.build();
    let e = Btf::parse(&data)
        .err()
        .expect("array of arrays past 4 GiB accepted");
    assert_eq!(e.offset, b.rec_pos(wrap));
}

/// A builder holding `int` and `depth` types on top of it, each made by `step` from the one
/// before (and `int`); returns the builder, `int` and the last type.
fn chain(depth: u32, mut step: impl FnMut(&mut Builder, u32, u32) -> u32) -> (Builder, u32, u32) {
    let mut b = Builder::new();
    let int = b.int("int", 4, SIGNED, 0, 32);
    let mut t = int;
    for _ in 0..depth {
        t = step(&mut b, t, int);
    }
    (b, int, t)
}

fn array_of(b: &mut Builder, t: u32, int: u32) -> u32 {
    b.array(t, int, 1)
}

/// Parses what `b` built, which must be refused as nested too deeply.
fn too_deep(b: &Builder, what: &str) -> crate::ParseError {
    let e = Btf::parse(&b.build()).err().expect(what);
    assert!(
        e.kind.to_string().contains("nested more than"),
        "{what}: {e}"
    );
    e
}

#[test]
fn nesting_deeper_than_the_limit_is_rejected_in_either_graph() {
    // By value: arrays of arrays.
    let (mut b, int, t) = chain(MAX_NESTING - 1, array_of);
    let data = b.build();
    let btf = Btf::parse(&data).expect("exactly MAX_NESTING deep must parse");
    assert_eq!(u32::from(btf.nesting(t)), MAX_NESTING);
    let deeper = array_of(&mut b, t, int);
    let e = too_deep(&b, "too deep accepted");
    assert_eq!(e.offset, b.rec_pos(deeper));
    assert_eq!(
        e.kind.to_string(),
        format!("type [{deeper}] is nested more than {MAX_NESTING} deep")
    );

    // By name: a pointer chain is harmless by value but deep to print.
    let (b, _, _) = chain(MAX_NESTING, |b, t, _| b.ptr(t));
    too_deep(&b, "deep pointer chain accepted");

    // Anonymous structs reached through pointers are printed in place: they count.
    let (b, _, _) = chain(MAX_NESTING, |b, t, _| {
        let p = b.ptr(t);
        b.struct_("", 8, &[("p", p, 0)])
    });
    too_deep(&b, "deep anonymous structs accepted");
}

#[test]
fn split_btf_nesting_continues_from_the_base() {
    let (b, int, t) = chain(MAX_NESTING - 2, array_of);
    let base_data = b.build();
    let base = Btf::parse(&base_data).unwrap();
    let mut s = Builder::split(base.type_count(), base.strings_len() as u32);
    let one = s.array(t, int, 2);
    let two = s.array(one, int, 2);
    let split_data = s.build();
    let e = Btf::parse_split(&split_data, &base)
        .err()
        .expect("too deep");
    assert!(e.kind.to_string().contains(&format!("type [{two}]")), "{e}");
    assert_eq!(base.nesting(t), (MAX_NESTING - 1) as u16);
}
