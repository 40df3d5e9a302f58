use super::core::{self, ReloKind};
use super::Minimizer;
use crate::btf::write::Writer;
use crate::btf::{Btf, Kind};

/// `int`, then `struct bar { int x; [int y;] }`, `struct bar *`, and
/// `struct foo { int a; [long b;] struct bar *p; }`: the kernel side has the bracketed
/// members, the object side not.
fn blob(kernel: bool) -> Vec<u8> {
    let mut w = Writer::new();
    let int = w.begin("int", Kind::Int, 0, false, 4).unwrap();
    w.extra(&[1 << 24 | 32]);
    let long = w.begin("long", Kind::Int, 0, false, 8).unwrap();
    w.extra(&[1 << 24 | 64]);
    let bar = w.begin("bar", Kind::Struct, 0, false, 8).unwrap();
    w.member("x", int, 0, 0).unwrap();
    if kernel {
        w.member("y", int, 32, 0).unwrap();
    }
    let ptr = w.begin("", Kind::Ptr, 0, false, bar).unwrap();
    w.begin("foo", Kind::Struct, 0, false, 24).unwrap();
    w.member("a", int, 0, 0).unwrap();
    if kernel {
        w.member("b", long, 64, 0).unwrap();
    }
    w.member("p", ptr, 128, 0).unwrap();
    w.finish().unwrap()
}

#[test]
fn type_matches_follows_libbpf_and_keeps_what_it_compared() {
    let (l, k) = (blob(false), blob(true));
    let (local, kernel) = (Btf::parse(&l).unwrap(), Btf::parse(&k).unwrap());
    let foo = local.find("foo", Kind::Struct).unwrap().id;
    let kfoo = kernel.find("foo", Kind::Struct).unwrap().id;
    let spec = core::parse_spec(&local, foo, "0", ReloKind::TypeMatches).unwrap();
    let t = core::spec_match(&local, &spec, &kernel, kfoo).unwrap();
    assert!(t.is_some(), "every local member has a matching namesake");
    // The other way round the kernel's `b` has no namesake: no match.
    let back = core::parse_spec(&kernel, kfoo, "0", ReloKind::TypeMatches).unwrap();
    assert!(core::spec_match(&kernel, &back, &local, foo)
        .unwrap()
        .is_none());

    let mut m = Minimizer::new(&kernel);
    m.mark_match(kfoo).unwrap();
    let out = m.finish().unwrap();
    let min = Btf::parse(&out).unwrap();
    let names = |t: &str| -> Vec<String> {
        let s = min.find(t, Kind::Struct).unwrap();
        s.members().map(|m| m.name.to_string()).collect()
    };
    // foo is compared member by member; bar only behind a pointer, so by name alone.
    assert_eq!(names("foo"), ["a", "b", "p"]);
    assert!(names("bar").is_empty());
}

#[test]
fn type_size_and_field_relocations_keep_only_the_path() {
    let k = blob(true);
    let kernel = Btf::parse(&k).unwrap();
    let kfoo = kernel.find("foo", Kind::Struct).unwrap().id;
    let l = blob(false);
    let local = Btf::parse(&l).unwrap();
    let foo = local.find("foo", Kind::Struct).unwrap().id;
    // foo.p (local access 0:1) is kernel member 2, at byte 16.
    let spec = core::parse_spec(&local, foo, "0:1", ReloKind::FieldByteOffset).unwrap();
    let t = core::spec_match(&local, &spec, &kernel, kfoo)
        .unwrap()
        .unwrap();
    assert_eq!(t.raw, [0, 2]);
    assert_eq!(core::value(&kernel, spec.kind, Some(&t)).unwrap(), Some(16));
    let mut m = Minimizer::new(&kernel);
    m.record(&t).unwrap();
    let out = m.finish().unwrap();
    let min = Btf::parse(&out).unwrap();
    let s = min.find("foo", Kind::Struct).unwrap();
    let kept: Vec<_> = s.members().map(|m| (m.name, m.bit_offset)).collect();
    assert_eq!(kept, [("p", 128)]);
    // The pointer is kept but not followed: it points to void.
    let p = min.ty(s.members().next().unwrap().type_id).unwrap();
    assert_eq!((p.kind(), p.type_id()), (Kind::Ptr, 0));
}

#[test]
fn flavor_suffixes_are_ignored() {
    assert_eq!(
        core::essential_len("task_struct___old"),
        "task_struct".len()
    );
    assert_eq!(core::essential_len("a____b"), "a____b".len());
    assert_eq!(core::essential_len("___x"), 4);
    assert_eq!(core::essential_len("x___"), 4);
}
