use super::*;
use crate::elf::object::Object;

fn types_obj() -> Vec<u8> {
    std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/types.bpf.o")).unwrap()
}

fn id_of(btf: &Btf<'_>, name: &str, kind: Kind) -> u32 {
    btf.find(name, kind).unwrap().id
}

fn member<'v>(v: &'v Value, name: &str) -> &'v Value {
    match v {
        Value::Struct(m) => &m.iter().find(|(n, _)| n == name).unwrap().1,
        other => panic!("not a struct: {other:?}"),
    }
}

#[test]
fn wide_integers_and_char() {
    let data = types_obj();
    let obj = Object::parse(&data).unwrap();
    let id = id_of(&obj.btf, "wide", Kind::Struct);
    let mut b = vec![0u8; 64];
    b[0] = b'z';
    b[16..32].copy_from_slice(&(-5i128 << 70).to_le_bytes());
    b[32..48].copy_from_slice(&u128::MAX.to_le_bytes());
    b[48..56].copy_from_slice(&42u64.to_le_bytes());
    let v = decode(&obj.btf, id, &b).unwrap();
    assert_eq!(member(&v, "c"), &Value::Int(i128::from(b'z')));
    assert_eq!(member(&v, "s128"), &Value::Int(-5i128 << 70));
    assert_eq!(member(&v, "u128"), &Value::Uint(u128::MAX));
    assert_eq!(member(&v, "after"), &Value::Uint(42));
    assert_eq!(
        v.to_json(),
        format!(
            "{{\"c\":122,\"s128\":{},\"u128\":{},\"after\":42}}",
            -5i128 << 70,
            u128::MAX
        )
    );
}

#[test]
fn bitfields_signed_bool_and_enum() {
    let data = types_obj();
    let obj = Object::parse(&data).unwrap();
    let id = id_of(&obj.btf, "bits", Kind::Struct);
    // Set fields by bit position, little-endian, as the compiler lays them out.
    let mut bits = [0u8; 32];
    let mut put = |off: u32, width: u32, val: u128| {
        for i in 0..width {
            if val >> i & 1 == 1 {
                let p = off + i;
                bits[(p / 8) as usize] |= 1 << (p % 8);
            }
        }
    };
    put(0, 3, 5); // a
    put(3, 7, 0x55); // b spans a byte boundary
    put(10, 1, 1); // flag
    put(11, 5, 0b11101); // sgn = -3
    put(16, 3, 0b100); // sc = -4
    put(19, 12, 0xabc); // us
    put(64, 40, 0xff_1234_5678); // wide
    put(128, 1, 1); // on
    put(160, 4, 9); // after_zero
    put(192, 33, (1u128 << 33) - 7); // neg = -7
    put(225, 8, 10); // st = STATE_RUN
    let v = decode(&obj.btf, id, &bits).unwrap();
    assert_eq!(member(&v, "a"), &Value::Uint(5));
    assert_eq!(member(&v, "b"), &Value::Uint(0x55));
    assert_eq!(member(&v, "flag"), &Value::Uint(1));
    assert_eq!(member(&v, "sgn"), &Value::Int(-3));
    assert_eq!(member(&v, "sc"), &Value::Int(-4));
    assert_eq!(member(&v, "us"), &Value::Uint(0xabc));
    assert_eq!(member(&v, "wide"), &Value::Uint(0xff_1234_5678));
    assert_eq!(member(&v, "rest"), &Value::Uint(0));
    assert_eq!(member(&v, "on"), &Value::Bool(true));
    assert_eq!(member(&v, "after_zero"), &Value::Uint(9));
    assert_eq!(member(&v, "neg"), &Value::Int(-7));
    assert_eq!(
        member(&v, "st"),
        &Value::Enum {
            name: Some("STATE_RUN".into()),
            raw: 10
        }
    );
}

#[test]
fn nested_anonymous_members_arrays_and_strings() {
    let data = types_obj();
    let obj = Object::parse(&data).unwrap();
    let id = id_of(&obj.btf, "nested", Kind::Struct);
    let mut b = vec![0u8; 216];
    b[0..4].copy_from_slice(&7i32.to_le_bytes()); // first.id
    b[4] = b'T'; // first.tag
    b[16..20].copy_from_slice(&(-1i32).to_le_bytes()); // anon_a
    b[24..28].copy_from_slice(&0x1111u32.to_le_bytes()); // lo (anon union/struct)
    b[28..32].copy_from_slice(&0x2222u32.to_le_bytes()); // hi
                                                         // names[4][8] at byte 168: "ab", then 8 bytes with no NUL, then "", then "z".
    b[168..170].copy_from_slice(b"ab");
    b[176..184].copy_from_slice(b"12345678");
    b[192] = b'z';
    let v = decode(&obj.btf, id, &b).unwrap();
    let first = member(&v, "first");
    assert_eq!(member(first, "id"), &Value::Int(7));
    assert_eq!(member(first, "tag"), &Value::Int(i128::from(b'T')));
    // Anonymous members are flattened into the parent.
    assert_eq!(member(&v, "anon_a"), &Value::Int(-1));
    assert_eq!(member(&v, "lo"), &Value::Uint(0x1111));
    assert_eq!(member(&v, "hi"), &Value::Uint(0x2222));
    assert_eq!(member(&v, "anon_l"), &Value::Int(0x2222_0000_1111));
    assert_eq!(member(&v, "anon_p"), &Value::Ptr(0x2222_0000_1111));
    assert_eq!(
        member(&v, "names"),
        &Value::Array(vec![
            Value::Str("ab".into()),
            Value::Str("12345678".into()),
            Value::Str(String::new()),
            Value::Str("z".into()),
        ])
    );
    match member(&v, "grid") {
        Value::Array(rows) => {
            assert_eq!(rows.len(), 2);
            assert!(matches!(&rows[0], Value::Array(c) if c.len() == 3));
        }
        other => panic!("{other:?}"),
    }
    let cols = column_names(&obj.btf, id);
    assert_eq!(
        cols,
        [
            "first", "num", "anon_a", "anon_b", "anon_l", "anon_p", "lo", "hi", "named", "items",
            "grid", "names", "pos", "word"
        ]
    );
    let names: Vec<&str> = match &v {
        Value::Struct(m) => m.iter().map(|(n, _)| n.as_str()).collect(),
        _ => unreachable!(),
    };
    assert_eq!(names, cols);
}

#[test]
fn enums_by_name_and_unknown_values() {
    let data = types_obj();
    let obj = Object::parse(&data).unwrap();
    let big = id_of(&obj.btf, "big64", Kind::Enum);
    // clang 14 writes 64-bit enums as ENUM with 32-bit values, so only small ones survive.
    let v = decode(&obj.btf, big, &1u64.to_le_bytes()).unwrap();
    assert_eq!(v.to_text(), "BIG_ONE");
    assert_eq!(v.to_json(), "\"BIG_ONE\"");
    let level = obj
        .btf
        .find("level16", Kind::Enum)
        .or_else(|| obj.btf.find("level16", Kind::Enum64))
        .unwrap()
        .id;
    let v = decode(&obj.btf, level, &(-300i16).to_le_bytes()).unwrap();
    assert_eq!(v.to_text(), "LEVEL_LOW");
    let v = decode(&obj.btf, level, &5i16.to_le_bytes()).unwrap();
    assert!(matches!(v, Value::Enum { name: None, raw: 5 }), "{v:?}");
    assert_eq!(v.to_text(), "5");
}

#[test]
fn pointers_floats_and_json_escaping() {
    let data = types_obj();
    let obj = Object::parse(&data).unwrap();
    let id = id_of(&obj.btf, "ptrs", Kind::Struct);
    let mut b = vec![0u8; 144];
    b[24..32].copy_from_slice(&0xffff_8881_dead_beefu64.to_le_bytes()); // vp
    b[128..132].copy_from_slice(&1.5f32.to_le_bytes()); // f
    b[136..144].copy_from_slice(&f64::NAN.to_le_bytes()); // d
    let v = decode(&obj.btf, id, &b).unwrap();
    assert_eq!(member(&v, "vp").to_text(), "0xffff8881deadbeef");
    assert_eq!(member(&v, "f"), &Value::Float(1.5));
    assert!(v.to_json().contains("\"vp\":\"0xffff8881deadbeef\""));
    assert!(
        v.to_json().ends_with("\"f\":1.5,\"d\":null}"),
        "{}",
        v.to_json()
    );
    let s = Value::Str("a\"b\\\n\u{1}".into());
    let j = s.to_json();
    assert_eq!(j, "\"a\\\"b\\\\\\n\\u0001\"");
    assert_eq!(serde_json::from_str::<String>(&j).unwrap(), "a\"b\\\n\u{1}");
}

#[test]
fn short_samples_are_errors_not_panics() {
    let data = types_obj();
    let obj = Object::parse(&data).unwrap();
    let id = id_of(&obj.btf, "nested", Kind::Struct);
    for len in [0, 1, 100, 215] {
        let err = decode(&obj.btf, id, &vec![0xffu8; len]).unwrap_err();
        assert_eq!(
            err,
            DecodeError::Short {
                what: "struct nested".into(),
                need: 216,
                got: len
            }
        );
        assert_eq!(
            err.to_string(),
            format!("sample of {len} bytes is shorter than struct nested (216 bytes)")
        );
    }
    // Longer is fine: ring buffer samples are rounded up.
    assert!(decode(&obj.btf, id, &[0u8; 300]).is_ok());
}

#[test]
fn every_type_in_the_object_decodes_from_zeros_or_errors_cleanly() {
    let data = types_obj();
    let obj = Object::parse(&data).unwrap();
    let zeros = vec![0u8; 4096];
    for id in obj.btf.ids() {
        let Some(size) = obj.btf.size_of(id) else {
            continue;
        };
        let n = size as usize;
        if n > zeros.len() {
            continue;
        }
        // Decoding exact-size and one-byte-short buffers must never panic.
        let _ = decode(&obj.btf, id, &zeros[..n]);
        if n > 0 {
            assert!(decode(&obj.btf, id, &zeros[..n - 1]).is_err());
        }
    }
}

#[test]
fn table_layout_matches_the_runtime() {
    let t = Table::new(["pid", "comm", "duration_ns"]);
    assert_eq!(t.header(), "TIME     PID    COMM   DURATION_NS");
    let v = Value::Struct(vec![
        ("pid".into(), Value::Int(42)),
        ("comm".into(), Value::Str("bash".into())),
        ("duration_ns".into(), Value::Uint(7)),
    ]);
    assert_eq!(t.row("12:34:56", &v), "12:34:56 42     bash   7");
    let long = Value::Struct(vec![
        ("pid".into(), Value::Int(1234567)),
        ("comm".into(), Value::Str("x".into())),
        ("duration_ns".into(), Value::Uint(1)),
    ]);
    assert_eq!(t.row("00:00:00", &long), "00:00:00 1234567 x      1");
}

/// Every sized type of the running kernel decodes from all-ones bytes, and one byte short
/// is an error: no panics, no reads past the sample.
#[test]
fn kernel_types_decode_without_panics() {
    let Ok(data) = std::fs::read("/sys/kernel/btf/vmlinux") else {
        let why = "kernel_types_decode_without_panics: /sys/kernel/btf/vmlinux unreadable";
        assert_ne!(
            std::env::var("ECC_REQUIRE_KERNEL").as_deref(),
            Ok("1"),
            "{why}"
        );
        eprintln!("SKIP: {why}");
        return;
    };
    let btf = Btf::parse(&data).unwrap();
    let ones = vec![0xffu8; 4096];
    let mut decoded = 0;
    for id in btf.ids() {
        let Some(t) = btf.ty(id) else { continue };
        if !matches!(
            t.kind(),
            Kind::Struct | Kind::Union | Kind::Array | Kind::Enum
        ) {
            continue;
        }
        let Some(size) = btf.size_of(id).map(|s| s as usize) else {
            continue;
        };
        if size == 0 || size > ones.len() {
            continue;
        }
        if decode(&btf, id, &ones[..size]).is_ok() {
            decoded += 1;
        }
        assert!(decode(&btf, id, &ones[..size - 1]).is_err());
    }
    assert!(decoded > 10_000, "only {decoded} kernel types decoded");
}

#[test]
fn floats_read_well_in_tables() {
    assert_eq!(readable_float(0.0), "0");
    assert_eq!(readable_float(1.5), "1.5");
    assert_eq!(readable_float(0.1 + 0.2), "0.3");
    assert_eq!(readable_float(123456.789), "123457");
    assert_eq!(readable_float(-2.25), "-2.25");
    assert_eq!(readable_float(f64::from(f32::from_bits(42))), "5.88545e-44");
    assert_eq!(readable_float(6.02e23), "6.02e23");
    assert_eq!(Value::Float(0.25).to_text(), "0.25");
}
