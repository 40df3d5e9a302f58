//! Random C type definitions for the Wasm layout property and semantic tests: nested structs
//! and unions (named, anonymous, inline-named), arrays (multi-dimensional, of structs, zero
//! length, flexible), bitfields (signed, unsigned, `_Bool`, `long`, enum-typed, unnamed and
//! zero-width padding), pointers and function pointers, `long`, enums of 1/2/4/8 bytes,
//! `__int128`, floats, typedefs, C++-keyword member names, and `aligned`/`packed` attributes.
//! A small deterministic PRNG (splitmix64) drives it, seeded per case.
#![allow(dead_code)]

use std::collections::HashSet;
use std::fmt::Write;

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

/// Scalar types: (C spelling, size in bytes, usable as a bitfield base).
const PRIMS: &[(&str, u32, bool)] = &[
    ("char", 1, true),
    ("signed char", 1, true),
    ("unsigned char", 1, true),
    ("short", 2, true),
    ("unsigned short", 2, true),
    ("int", 4, true),
    ("unsigned int", 4, true),
    ("long", 8, true),
    ("unsigned long", 8, true),
    ("long long", 8, true),
    ("unsigned long long", 8, true),
    ("_Bool", 1, true),
    ("float", 4, false),
    ("double", 8, false),
    ("__int128", 16, false),
    ("unsigned __int128", 16, false),
];

const CXX_NAMES: &[&str] = &["class", "new", "private", "this", "template", "delete"];

struct Enum {
    name: String,
    /// Bytes the compiler gives it (1 or 2 need `packed`).
    size: u32,
}

/// One generated translation unit: definitions plus a global per top-level record, so that
/// `clang -g` puts every type into BTF.
pub struct Program {
    pub source: String,
    /// Top-level record tags, as `struct X` / `union X`.
    pub roots: Vec<String>,
}

struct Gen<'r> {
    rng: &'r mut Rng,
    prefix: String,
    out: String,
    enums: Vec<Enum>,
    typedefs: Vec<(String, String)>,
    /// (C type of a finished record, can be used by value).
    records: Vec<(String, bool)>,
    next_name: u32,
}

/// `count` random top-level records with names starting with `prefix`.
pub fn program(rng: &mut Rng, prefix: &str, count: usize) -> Program {
    let mut g = Gen {
        rng,
        prefix: prefix.to_string(),
        out: String::new(),
        enums: Vec::new(),
        typedefs: Vec::new(),
        records: Vec::new(),
        next_name: 0,
    };
    for i in 0..3 {
        g.gen_enum(i);
    }
    for i in 0..3 {
        let (c, _, _) = *g.rng.pick(&PRIMS[..12]);
        let name = format!("{prefix}t{i}");
        let _ = writeln!(g.out, "typedef {c} {name};");
        g.typedefs.push((name, c.to_string()));
    }
    let mut roots = Vec::new();
    for i in 0..count {
        let union = g.rng.chance(20);
        let kw = if union { "union" } else { "struct" };
        let tag = format!("{prefix}r{i}");
        let mut used = HashSet::new();
        let flex_ok = !union && g.rng.chance(10);
        let body = g.record_body(0, union, flex_ok, &mut used);
        let attrs = g.record_attrs();
        let _ = writeln!(g.out, "{kw} {tag} {{\n{}}}{attrs};", body.0);
        let ty = format!("{kw} {tag}");
        let _ = writeln!(g.out, "{ty} {prefix}g{i};\n");
        g.records.push((ty.clone(), !body.1));
        roots.push(ty);
    }
    // An anonymous struct reached through a typedef, as `point_t` in the kernel's style.
    let mut used = HashSet::new();
    let body = g.record_body(1, false, false, &mut used);
    let _ = writeln!(g.out, "typedef struct {{\n{}}} {prefix}anon_t;", body.0);
    let _ = writeln!(g.out, "{prefix}anon_t {prefix}ganon;");
    Program {
        source: g.out,
        roots,
    }
}

impl Gen<'_> {
    fn name(&mut self) -> String {
        self.next_name += 1;
        format!("f{}", self.next_name)
    }

    fn gen_enum(&mut self, i: usize) {
        let name = format!("{}e{i}", self.prefix);
        let (packed, values): (bool, Vec<String>) = match self.rng.below(5) {
            0 => (true, vec!["0".into(), "1".into(), "200".into()]),
            1 => (true, vec!["-300".into(), "0".into(), "0x7000".into()]),
            2 => (false, vec!["-1".into(), "10".into(), "0x7fffffff".into()]),
            3 => (false, vec!["1".into(), "0xffffffffu".into()]),
            _ => (
                false,
                vec![
                    "1".into(),
                    "0x100000000ULL".into(),
                    "0x8000000000000000ULL".into(),
                ],
            ),
        };
        let size = match (packed, values.len(), values[0].as_str()) {
            (true, _, "0") => 1,
            (true, _, _) => 2,
            (false, 3, "1") => 8,
            _ => 4,
        };
        let attr = if packed {
            "__attribute__((packed)) "
        } else {
            ""
        };
        let _ = write!(self.out, "enum {attr}{name} {{");
        for (j, v) in values.iter().enumerate() {
            let _ = write!(self.out, " {}E{i}_{j} = {v},", self.prefix.to_uppercase());
        }
        let _ = writeln!(self.out, " }};");
        self.enums.push(Enum { name, size });
    }

    fn record_attrs(&mut self) -> String {
        let packed = self.rng.chance(15);
        let aligned = self
            .rng
            .chance(10)
            .then(|| *self.rng.pick(&[2u32, 4, 8, 16, 64]));
        match (packed, aligned) {
            (false, None) => String::new(),
            (true, None) => " __attribute__((packed))".into(),
            (false, Some(a)) => format!(" __attribute__((aligned({a})))"),
            (true, Some(a)) => format!(" __attribute__((packed, aligned({a})))"),
        }
    }

    /// Field lines of a record and whether it ends in a flexible array.
    fn record_body(
        &mut self,
        depth: usize,
        union: bool,
        flex_ok: bool,
        used: &mut HashSet<String>,
    ) -> (String, bool) {
        let n = self.rng.range(1, if depth == 0 { 9 } else { 4 });
        let mut out = String::new();
        let indent = "    ".repeat(depth + 1);
        for _ in 0..n {
            let line = self.field(depth, union, used);
            let _ = writeln!(out, "{indent}{line};");
        }
        let flex = flex_ok && self.rng.chance(70);
        if flex {
            // A flexible array needs a named member before it.
            let named = self.name();
            let _ = writeln!(out, "{indent}int {named};");
            let name = self.name();
            let (c, _, _) = *self.rng.pick(&PRIMS[..10]);
            let _ = writeln!(out, "{indent}{c} {name}[];");
        }
        (out, flex)
    }

    /// A member name: usually fresh, sometimes a C++ keyword (once per record scope).
    fn member_name(&mut self, used: &mut HashSet<String>) -> String {
        if self.rng.chance(4) {
            let kw = self.rng.pick(CXX_NAMES).to_string();
            if used.insert(kw.clone()) {
                return kw;
            }
        }
        self.name()
    }

    fn dims(&mut self) -> String {
        if !self.rng.chance(18) {
            return String::new();
        }
        let mut s = String::new();
        for _ in 0..self.rng.range(1, 2) {
            let d = if self.rng.chance(8) {
                0
            } else {
                self.rng.range(1, 3)
            };
            let _ = write!(s, "[{d}]");
        }
        s
    }

    fn member_attr(&mut self) -> String {
        if self.rng.chance(7) {
            format!(
                " __attribute__((aligned({})))",
                self.rng.pick(&[1u32, 2, 4, 8, 16, 32])
            )
        } else {
            String::new()
        }
    }

    fn bitfield(&mut self, union: bool, used: &mut HashSet<String>) -> String {
        if !self.enums.is_empty() && self.rng.chance(20) {
            let name = self.member_name(used);
            let i = self.rng.below(self.enums.len() as u64) as usize;
            let bits = self.rng.range(1, u64::from(self.enums[i].size) * 8);
            return format!("enum {} {name} : {bits}", self.enums[i].name);
        }
        let (c, size, _) = *self.rng.pick(&PRIMS[..12]);
        let max = if c == "_Bool" { 1 } else { u64::from(size) * 8 };
        if !union && self.rng.chance(22) {
            let bits = if self.rng.chance(15) {
                0
            } else {
                self.rng.range(1, max.min(11))
            };
            return format!("{c} : {bits}");
        }
        let name = self.member_name(used);
        let bits = self.rng.range(1, max);
        format!("{c} {name} : {bits}")
    }

    fn field(&mut self, depth: usize, union: bool, used: &mut HashSet<String>) -> String {
        loop {
            let roll = self.rng.below(100);
            match roll {
                0..=29 => {
                    let (c, _, _) = *self.rng.pick(PRIMS);
                    let name = self.member_name(used);
                    let dims = self.dims();
                    let attr = self.member_attr();
                    return format!("{c} {name}{dims}{attr}");
                }
                30..=46 => {
                    // A run of bitfields (one in a union), some of them unnamed padding, so
                    // that holes start and end inside bytes.
                    let count = if union { 1 } else { self.rng.range(1, 4) };
                    let sep = format!(";\n{}", "    ".repeat(depth + 1));
                    let run: Vec<String> = (0..count).map(|_| self.bitfield(union, used)).collect();
                    return run.join(&sep);
                }
                47..=54 => {
                    let name = self.member_name(used);
                    let dims = self.dims();
                    let target = match self.rng.below(4) {
                        0 => "void *".to_string(),
                        1 => "const char *".to_string(),
                        2 => format!("struct {}opaque *", self.prefix),
                        _ => match self.records.last() {
                            Some((t, _)) => format!("{t} *"),
                            None => "void **".to_string(),
                        },
                    };
                    return format!("{target}{name}{dims}");
                }
                55..=58 => {
                    let name = self.member_name(used);
                    let dims = self.dims();
                    return format!("int (*{name}{dims})(int, void *)");
                }
                59..=66 => {
                    let i = self.rng.below(self.enums.len() as u64) as usize;
                    let name = self.member_name(used);
                    let dims = self.dims();
                    return format!("enum {} {name}{dims}", self.enums[i].name);
                }
                67..=76 => {
                    let usable: Vec<String> = self
                        .records
                        .iter()
                        .filter(|r| r.1)
                        .map(|r| r.0.clone())
                        .collect();
                    if usable.is_empty() {
                        continue;
                    }
                    let t = self.rng.pick(&usable).clone();
                    let name = self.member_name(used);
                    let dims = self.dims();
                    let attr = self.member_attr();
                    return format!("{t} {name}{dims}{attr}");
                }
                77..=88 if depth < 3 => {
                    // Anonymous member, or an inline struct/union type with a name (maybe an
                    // array of them).
                    let inner_union = self.rng.chance(40);
                    let kw = if inner_union { "union" } else { "struct" };
                    let body = self.record_body(depth + 1, inner_union, false, used).0;
                    let attrs = self.record_attrs();
                    let indent = "    ".repeat(depth + 1);
                    if self.rng.chance(55) {
                        return format!("{kw} {{\n{body}{indent}}}{attrs}");
                    }
                    let name = self.member_name(used);
                    let dims = self.dims();
                    return format!("{kw} {{\n{body}{indent}}}{attrs} {name}{dims}");
                }
                89..=99 => {
                    let (t, _) =
                        self.typedefs[self.rng.below(self.typedefs.len() as u64) as usize].clone();
                    // A member named like the typedef hides it for the rest of the record
                    // (clang does so in C too once the member is inside an anonymous struct).
                    if used.contains(&t) {
                        continue;
                    }
                    // Sometimes the member has the typedef's name (C++ then hides the type).
                    let name = if self.rng.chance(30) && used.insert(t.clone()) {
                        t.clone()
                    } else {
                        self.member_name(used)
                    };
                    return format!("{t} {name}");
                }
                _ => continue,
            }
        }
    }
}
