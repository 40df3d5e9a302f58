//! A small C declarator printer for skeleton variables: `unsigned long long x`,
//! `char x[16]`, `struct foo *x`, `int (*x)(void *)`, with anonymous struct, union and enum
//! bodies written inline. Named types are referenced by name only; their definitions are
//! the user's (native skeletons) or the layout emitter's (Wasm skeletons).
//!
//! `emit::c` has the full vmlinux.h declarator; this one is kept to what skeletons need,
//! until the two are unified.

use std::fmt::Write;

use crate::btf::{Btf, Kind};

/// Nesting deeper than this is crafted input; the declarator is cut off with `void`.
const MAX_DEPTH: u32 = 64;
/// Modifier chains longer than this come only from crafted BTF.
const MAX_CHAIN: usize = 256;

#[derive(Clone, Copy)]
pub struct Opts {
    /// Drop `const`, `volatile` and `restrict` everywhere, as bpftool does for data
    /// sections that user space writes.
    pub strip_mods: bool,
    /// Tabs before the lines of an inline body (the declaration's own indentation).
    pub indent: usize,
}

#[derive(Clone, Copy)]
enum Link {
    Ptr,
    Array(u32),
    Func(u32),
    Qual(&'static str),
}

/// `<type> <name>` for BTF type `id`; `name` may be empty for an abstract declarator.
pub fn decl(btf: &Btf<'_>, id: u32, name: &str, opts: Opts) -> String {
    let mut out = String::new();
    write_decl(btf, id, name, opts, 0, &mut out);
    out
}

fn write_decl(btf: &Btf<'_>, id: u32, name: &str, opts: Opts, depth: u32, out: &mut String) {
    let mut chain = Vec::new();
    let mut base = id;
    while chain.len() < MAX_CHAIN {
        let Some(t) = btf.ty(base) else { break };
        let link = match t.kind() {
            Kind::Ptr => Link::Ptr,
            Kind::Array => Link::Array(t.array().map_or(0, |a| a.nelems)),
            Kind::FuncProto => Link::Func(base),
            Kind::Const => Link::Qual("const"),
            Kind::Volatile => Link::Qual("volatile"),
            Kind::Restrict => Link::Qual("restrict"),
            // Type tags mean nothing to a user-space compiler.
            Kind::TypeTag => {
                base = t.type_id();
                continue;
            }
            _ => break,
        };
        base = match link {
            Link::Array(_) => t.array().map_or(0, |a| a.elem),
            _ => t.type_id(),
        };
        if matches!(link, Link::Qual(_)) && opts.strip_mods {
            continue;
        }
        chain.push(link);
    }
    let mut d = name.to_string();
    let mut prefix = String::new();
    for (i, link) in chain.iter().enumerate() {
        let on_ptr = chain[i + 1..]
            .iter()
            .find(|l| !matches!(l, Link::Qual(_)))
            .is_some_and(|l| matches!(l, Link::Ptr));
        match *link {
            Link::Ptr => d.insert(0, '*'),
            Link::Qual(q) if on_ptr => {
                let sep = if d.is_empty() { "" } else { " " };
                d.insert_str(0, &format!("{q}{sep}"));
            }
            Link::Qual(q) => {
                if !prefix.split(' ').any(|w| w == q) {
                    prefix.push_str(q);
                    prefix.push(' ');
                }
            }
            Link::Array(n) => {
                if d.starts_with('*') {
                    d = format!("({d})");
                }
                let _ = write!(d, "[{n}]");
            }
            Link::Func(proto) => {
                if d.starts_with('*') {
                    d = format!("({d})");
                }
                d.push('(');
                write_params(btf, proto, opts, depth, &mut d);
                d.push(')');
            }
        }
    }
    out.push_str(&prefix);
    write_base(btf, base, opts, depth, out);
    if !d.is_empty() {
        // An abstract array declarator reads `char[16]`, as in package.json type names.
        if !d.starts_with('[') {
            out.push(' ');
        }
        out.push_str(&d);
    }
}

fn write_params(btf: &Btf<'_>, proto: u32, opts: Opts, depth: u32, out: &mut String) {
    let Some(t) = btf.ty(proto) else { return };
    let n = t.vlen();
    if n == 0 {
        out.push_str("void");
    }
    for (i, p) in t.params().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        if i + 1 == n && p.type_id == 0 {
            out.push_str("...");
        } else {
            write_decl(btf, p.type_id, p.name, opts, depth + 1, out);
        }
    }
}

fn write_base(btf: &Btf<'_>, id: u32, opts: Opts, depth: u32, out: &mut String) {
    let Some(t) = btf.ty(id) else {
        out.push_str("void");
        return;
    };
    if depth > MAX_DEPTH {
        out.push_str("void");
        return;
    }
    let named = !t.name().is_empty();
    match t.kind() {
        Kind::Int | Kind::Float | Kind::Typedef => out.push_str(t.name()),
        Kind::Struct | Kind::Union if named => {
            let kw = if t.kind() == Kind::Union {
                "union"
            } else {
                "struct"
            };
            let _ = write!(out, "{kw} {}", t.name());
        }
        Kind::Fwd => {
            let kw = if t.kind_flag() { "union" } else { "struct" };
            let _ = write!(out, "{kw} {}", t.name());
        }
        Kind::Enum | Kind::Enum64 if named => {
            let _ = write!(out, "enum {}", t.name());
        }
        Kind::Struct | Kind::Union => {
            out.push_str(if t.kind() == Kind::Union {
                "union {\n"
            } else {
                "struct {\n"
            });
            let inner = Opts {
                indent: opts.indent + 1,
                ..opts
            };
            for m in t.members() {
                push_tabs(out, inner.indent);
                write_decl(btf, m.type_id, m.name, inner, depth + 1, out);
                if m.bitfield_size > 0 {
                    let _ = write!(out, ": {}", m.bitfield_size);
                }
                out.push_str(";\n");
            }
            push_tabs(out, opts.indent);
            out.push('}');
        }
        Kind::Enum | Kind::Enum64 => {
            out.push_str("enum {\n");
            for v in t.enum_values() {
                push_tabs(out, opts.indent + 1);
                // Plain numbers as bpftool writes them; a suffix only past 32 bits.
                let wide = if v.signed {
                    i32::try_from(v.bits as i64).is_err()
                } else {
                    v.bits > u64::from(u32::MAX)
                };
                let sfx = match (wide, v.signed) {
                    (false, _) => "",
                    (true, true) => "LL",
                    (true, false) => "ULL",
                };
                if v.signed {
                    let _ = writeln!(out, "{} = {}{sfx},", v.name, v.bits as i64);
                } else {
                    let _ = writeln!(out, "{} = {}{sfx},", v.name, v.bits);
                }
            }
            push_tabs(out, opts.indent);
            out.push('}');
        }
        _ => out.push_str("void"),
    }
}

fn push_tabs(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push('\t');
    }
}
