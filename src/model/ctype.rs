//! C type names for BTF types, as package.json writes them: abstract declarators with
//! const/volatile/restrict and type tags stripped (`int`, `char[16]`, `struct event *`,
//! `int (*)(void *, unsigned long)`), the spelling the runtime's CLI parser expects.

use crate::btf::{Btf, Kind};

/// The type name of `id`. Anonymous structs, unions and enums are written out inline.
pub fn type_name(btf: &Btf<'_>, id: u32) -> String {
    declarator(btf, id, String::new(), 0)
}

/// Deep enough for any real type; stops a malformed chain from recursing without end.
const MAX_DEPTH: usize = 64;

/// Builds the declaration of `id` around `inner` (the declarator so far), the usual
/// inside-out way C declarators work.
fn declarator(btf: &Btf<'_>, id: u32, inner: String, depth: usize) -> String {
    if depth > MAX_DEPTH {
        return join("void", &inner);
    }
    let Some(t) = btf.ty(id) else {
        return join(&format!("<bad type {id}>"), &inner);
    };
    match t.kind() {
        Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag => {
            declarator(btf, t.type_id(), inner, depth + 1)
        }
        Kind::Ptr => {
            // Pointers to arrays and functions need parentheses: `int (*)[4]`.
            let next = if matches!(
                mods_only_kind(btf, t.type_id()),
                Some(Kind::Array | Kind::FuncProto)
            ) {
                format!("(*{inner})")
            } else {
                format!("*{inner}")
            };
            declarator(btf, t.type_id(), next, depth + 1)
        }
        Kind::Array => {
            let a = t.array().unwrap_or_default();
            declarator(btf, a.elem, format!("{inner}[{}]", a.nelems), depth + 1)
        }
        Kind::FuncProto => {
            let params: Vec<String> = t
                .params()
                .map(|p| {
                    if p.type_id == 0 && p.name.is_empty() {
                        "...".to_string()
                    } else {
                        type_name_at(btf, p.type_id, depth + 1)
                    }
                })
                .collect();
            let params = if params.is_empty() {
                "void".to_string()
            } else {
                params.join(", ")
            };
            declarator(btf, t.type_id(), format!("{inner}({params})"), depth + 1)
        }
        _ => join(&base_name(btf, id, depth), &inner),
    }
}

fn type_name_at(btf: &Btf<'_>, id: u32, depth: usize) -> String {
    declarator(btf, id, String::new(), depth)
}

/// The kind of `id` after skipping only cv-modifiers and type tags (not typedefs).
fn mods_only_kind(btf: &Btf<'_>, mut id: u32) -> Option<Kind> {
    for _ in 0..MAX_DEPTH {
        let t = btf.ty(id)?;
        match t.kind() {
            Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag => id = t.type_id(),
            k => return Some(k),
        }
    }
    None
}

/// `base` followed by the declarator, with C's spacing: `char[16]`, `struct event *`.
fn join(base: &str, inner: &str) -> String {
    if inner.is_empty() {
        base.to_string()
    } else if inner.starts_with('[') || inner.starts_with('(') && !inner.starts_with("(*") {
        format!("{base}{inner}")
    } else {
        format!("{base} {inner}")
    }
}

fn base_name(btf: &Btf<'_>, id: u32, depth: usize) -> String {
    let Some(t) = btf.ty(id) else {
        return format!("<bad type {id}>");
    };
    let name = t.name();
    match t.kind() {
        Kind::Void => "void".into(),
        // <stdbool.h>'s `bool` is `_Bool` in BTF; the runtime's CLI knows it as `bool`.
        Kind::Int if name == "_Bool" => "bool".into(),
        Kind::Int | Kind::Float | Kind::Typedef => name.into(),
        Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 | Kind::Fwd => {
            let kw = match t.kind() {
                Kind::Union => "union",
                Kind::Fwd if t.kind_flag() => "union",
                Kind::Enum | Kind::Enum64 => "enum",
                _ => "struct",
            };
            if !name.is_empty() {
                return format!("{kw} {name}");
            }
            let body: Vec<String> = match t.kind() {
                Kind::Struct | Kind::Union => t
                    .members()
                    .map(|m| {
                        let decl = declarator(btf, m.type_id, m.name.to_string(), depth + 1);
                        if m.bitfield_size > 0 {
                            format!("{decl}: {};", m.bitfield_size)
                        } else {
                            format!("{decl};")
                        }
                    })
                    .collect(),
                _ => t.enum_values().map(|v| format!("{},", v.name)).collect(),
            };
            format!("{kw} {{ {} }}", body.join(" "))
        }
        _ => name.into(),
    }
}
