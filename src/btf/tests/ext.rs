//! .BTF.ext: func, line and CO-RE records, and malformed sections with their offsets.

use super::*;
use crate::btf::ext::{InfoTable, SectionInfo};

/// Every record of `table`, section after section.
fn records<T>(table: &InfoTable<'_>, read: impl Fn(&SectionInfo<'_>) -> Vec<T>) -> Vec<T> {
    table.sections().flat_map(|s| read(&s)).collect()
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
    let li = records(&e.line_info, |s| s.line_infos().collect());
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
    let cr = records(&e.core_relo, |s| s.core_relos().collect());
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
    let f = records(&e.func_info, |s| s.func_infos().collect());
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
    // A wrong magic, then the right one in the other byte order.
    let magic = u16::from_le_bytes([good[0], good[1]]);
    for (word, msg) in [(0x1234, "magic"), (magic.swap_bytes(), "byte-swapped")] {
        let mut bad = good.clone();
        bad[..2].copy_from_slice(&u16::to_le_bytes(word));
        assert_err(ext_err(&bad), 0, msg);
    }
    // (patched words, where the error points, what it says)
    type Case = (&'static [(usize, u32)], usize, &'static str);
    let cases: [Case; 6] = [
        (&[(4, 8)], 4, "header length"),
        // func_info length runs past the end.
        (&[(12, 1000)], 8, "func_info is out of bounds"),
        // line_info offset overflows.
        (&[(16, u32::MAX), (20, 4)], 16, "line_info is out of bounds"),
        // Record size smaller than a func_info: reported at the table start (the header end).
        (&[(32, 4)], 32, "bad record size"),
        // Record count larger than the table: at the count field.
        (&[(32 + 8, 3)], 32 + 8, "bad record count"),
        // A zero-count group is malformed too.
        (&[(32 + 8, 0)], 32 + 8, "bad record count"),
    ];
    for (words, offset, msg) in cases {
        let mut bad = good.clone();
        for &(at, v) in words {
            put_u32(&mut bad, at, v);
        }
        assert_err(ext_err(&bad), offset, msg);
    }
}
