//! The one C declarator printer: `<type> <name>` for a BTF type, the inside-out way C reads
//! (`char name[16]`, `struct foo *name`, `int (*name)(void *)`, `int *const name`). Three
//! outputs use it, each with its own [`Spelling`] and base-type writer ([`Printer`]):
//! `format c` (vmlinux.h: qualifiers, type tags, decided names, padded bodies), skeleton
//! variables (qualifiers only where user space may not write, bodies on their own lines)
//! and package.json type names (`int`, `char[16]`, `int (*)(void *)`, bodies inline).

use crate::btf::{Btf, Kind, Ty};

/// Each body or parameter list entered is a naming step (anonymous body to member, prototype
/// to parameter) from a top-level member or declaration, so validation's `MAX_NESTING`
/// bounds the depth; past it (never, on parsed BTF) the base type is written as `void`.
pub const MAX_DEPTH: u32 = crate::btf::MAX_NESTING;
/// Each link of a declarator chain (pointer, qualifier, tag, array, prototype) is a naming
/// step, so a chain has fewer links than `MAX_NESTING` on parsed BTF.
const MAX_CHAIN: usize = crate::btf::MAX_NESTING as usize;

/// How a declarator is spelled where the outputs differ.
#[derive(Clone, Copy)]
pub struct Spelling {
    /// Keep `const`, `volatile` and `restrict` (else they are dropped).
    pub quals: bool,
    /// Keep type tags as `__attribute__((btf_type_tag("...")))` (else they are dropped).
    pub tags: bool,
    /// Write parameter names in prototypes (else parameters are abstract: `int (*)(void *)`).
    pub param_names: bool,
    /// How a declarator without a name is spaced.
    pub abstracts: Abstract,
}

/// Spacing of abstract declarators (parameters, package.json type names).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Abstract {
    /// As if a name followed: `char [16]`, `int *const ` (`format c`).
    AsNamed,
    /// `char[16]`, `int *const` (skeletons).
    Compact,
    /// Also `int(void)` for a bare prototype (package.json).
    CompactCalls,
}

/// Indentation level (anonymous bodies are written inline, one level in) and nesting depth
/// (bodies and parameter lists), which is what [`MAX_DEPTH`] limits.
#[derive(Clone, Copy)]
pub struct Nest {
    pub lvl: u32,
    pub depth: u32,
}

impl Nest {
    pub const TOP: Nest = Nest { lvl: 0, depth: 0 };

    pub fn at(lvl: u32) -> Nest {
        Nest { lvl, depth: 0 }
    }

    /// One body in: indented one more level.
    pub fn body(self) -> Nest {
        Nest {
            lvl: self.lvl + 1,
            depth: self.depth + 1,
        }
    }

    fn params(self) -> Nest {
        Nest {
            depth: self.depth + 1,
            ..self
        }
    }
}

/// One step from a declarator towards its base type. Qualifiers and type tags know whether
/// they apply to a pointer (written beside its `*`) or to the base type (written beside it);
/// arrays and prototypes know whether they need parentheses around what is inside them.
#[derive(Clone, Copy)]
pub enum Link<'a> {
    Ptr,
    Array { nelems: u32, wrap: bool },
    Func { proto: u32, wrap: bool },
    Qual { q: &'static str, on_ptr: bool },
    Tag { tag: &'a str, on_ptr: bool },
}

/// What an output supplies to the walk: where text goes, a stack for the chains, and how a
/// base type (a name, or an anonymous body) is written.
pub trait Printer<'b> {
    fn spelling(&self) -> Spelling;
    fn out(&mut self) -> &mut String;
    /// Declarator chains: each `write_decl` works above the part its callers use.
    fn chain(&mut self) -> &mut Vec<Link<'b>>;
    /// Typedefs the walk looks through as if they were not there (`format c`'s va_list).
    fn looks_through(&self, _typedef: u32) -> bool {
        false
    }
    /// Writes the base type `id` (`None`: not a valid type). Bodies written here call
    /// [`write_decl`] for their members with `at.body()`.
    fn write_base(&mut self, id: u32, base: Option<Ty<'b>>, at: Nest);
}

/// Writes `<type> <name>` for `id` (`name` may be empty: an abstract declarator).
///
/// The links nearest the name are written next to it: pointers (and what qualifies them) to
/// its left, arrays and parameter lists to its right, and a pointer to an array or function
/// is parenthesised. Everything goes straight into the output; nested declarators
/// (parameters, members) use the chain stack above ours.
pub fn write_decl<'b, P: Printer<'b>>(p: &mut P, btf: &'b Btf<'_>, id: u32, name: &str, at: Nest) {
    let sp = p.spelling();
    let start = p.chain().len();
    let base = push_chain(p, btf, id, sp);
    let chain = p.chain();
    let end = chain.len();
    let links = start..end;
    // Which qualifiers and tags sit on a pointer: look right past other qualifiers.
    let mut next_is_ptr = false;
    for i in links.clone().rev() {
        match &mut chain[i] {
            Link::Qual { on_ptr, .. } | Link::Tag { on_ptr, .. } => *on_ptr = next_is_ptr,
            l => next_is_ptr = matches!(l, Link::Ptr),
        }
    }
    // An array or prototype applied to a pointer declarator needs parentheses.
    let mut starts_with_ptr = false;
    let mut declarator = !name.is_empty();
    let mut any_ptr = false;
    // The first array or prototype, for the spacing of abstract declarators.
    let mut first_call = None;
    for link in &mut chain[links.clone()] {
        match link {
            Link::Ptr => {
                starts_with_ptr = true;
                any_ptr = true;
            }
            Link::Qual { on_ptr: true, .. } | Link::Tag { on_ptr: true, .. } => {
                starts_with_ptr = false
            }
            Link::Qual { .. } | Link::Tag { .. } => continue,
            Link::Array { wrap, .. } => {
                *wrap = std::mem::take(&mut starts_with_ptr);
                first_call.get_or_insert(false);
            }
            Link::Func { wrap, .. } => {
                *wrap = std::mem::take(&mut starts_with_ptr);
                first_call.get_or_insert(true);
            }
        }
        declarator = true;
    }
    // Qualifiers of the base type go before it, each once.
    let mut written: [&str; 3] = [""; 3];
    for i in links.clone() {
        if let Link::Qual { q, on_ptr: false } = p.chain()[i] {
            if let Some(slot) = written.iter_mut().find(|w| w.is_empty() || **w == q) {
                if slot.is_empty() {
                    *slot = q;
                    let out = p.out();
                    out.push_str(q);
                    out.push(' ');
                }
            }
        }
    }
    debug_assert!(
        at.depth <= MAX_DEPTH,
        "validation bounds declarator nesting"
    );
    if at.depth > MAX_DEPTH {
        p.out().push_str("void");
    } else {
        p.write_base(base.0, base.1, at);
    }
    for i in links.clone() {
        if let Link::Tag { tag, on_ptr: false } = p.chain()[i] {
            let out = p.out();
            out.push_str(" __attribute__((btf_type_tag(\"");
            out.push_str(tag);
            out.push_str("\")))");
        }
    }
    let compact = name.is_empty() && sp.abstracts != Abstract::AsNamed;
    let tight = compact
        && !any_ptr
        && match first_call {
            Some(call) => !call || sp.abstracts == Abstract::CompactCalls,
            None => false,
        };
    if declarator && !tight {
        p.out().push(' ');
    }
    for i in links.clone().rev() {
        let link = p.chain()[i];
        let out = p.out();
        match link {
            Link::Ptr => out.push('*'),
            Link::Qual { q, on_ptr: true } => {
                out.push_str(q);
                // Nothing follows a qualifier nearest an absent name.
                if !(compact && i == start) {
                    out.push(' ');
                }
            }
            Link::Tag { tag, on_ptr: true } => {
                out.push_str("__attribute__((btf_type_tag(\"");
                out.push_str(tag);
                out.push_str("\"))) ");
            }
            Link::Array { wrap: true, .. } | Link::Func { wrap: true, .. } => out.push('('),
            _ => {}
        }
    }
    p.out().push_str(name);
    for i in links {
        match p.chain()[i] {
            Link::Array { nelems, wrap } => {
                let out = p.out();
                if wrap {
                    out.push(')');
                }
                out.push('[');
                push_num(out, nelems);
                out.push(']');
            }
            Link::Func { proto, wrap } => {
                let out = p.out();
                if wrap {
                    out.push(')');
                }
                out.push('(');
                write_params(p, btf, proto, at.params());
                p.out().push(')');
            }
            _ => {}
        }
    }
    p.chain().truncate(start);
}

/// Pushes the links from `id` down to its base type onto the chain; returns the base.
fn push_chain<'b, P: Printer<'b>>(
    p: &mut P,
    btf: &'b Btf<'_>,
    id: u32,
    sp: Spelling,
) -> (u32, Option<Ty<'b>>) {
    let mut base = id;
    let start = p.chain().len();
    while p.chain().len() - start < MAX_CHAIN {
        // Kinds and referenced ids come from the dense arrays; only arrays, type tags and
        // the base itself need their record.
        let Some(kind) = btf.kind_of(base) else {
            return (base, None);
        };
        let link = match kind {
            Kind::Ptr => Link::Ptr,
            Kind::Const | Kind::Volatile | Kind::Restrict if !sp.quals => {
                base = btf.word_of(base).unwrap_or(0);
                continue;
            }
            Kind::Const => Link::Qual {
                q: "const",
                on_ptr: false,
            },
            Kind::Volatile => Link::Qual {
                q: "volatile",
                on_ptr: false,
            },
            Kind::Restrict => Link::Qual {
                q: "restrict",
                on_ptr: false,
            },
            Kind::TypeTag if !sp.tags => {
                base = btf.word_of(base).unwrap_or(0);
                continue;
            }
            Kind::TypeTag => Link::Tag {
                tag: btf.ty(base).map_or("", |t| t.name()),
                on_ptr: false,
            },
            Kind::Array => {
                let a = btf.ty(base).and_then(|t| t.array()).unwrap_or_default();
                p.chain().push(Link::Array {
                    nelems: a.nelems,
                    wrap: false,
                });
                base = a.elem;
                continue;
            }
            Kind::FuncProto => Link::Func {
                proto: base,
                wrap: false,
            },
            Kind::Typedef if p.looks_through(base) => {
                base = btf.word_of(base).unwrap_or(0);
                continue;
            }
            _ => return (base, btf.ty(base)),
        };
        p.chain().push(link);
        base = btf.word_of(base).unwrap_or(0);
    }
    debug_assert!(false, "validation bounds declarator chains");
    (base, btf.ty(base))
}

/// A prototype's parameter list, without the parentheses.
fn write_params<'b, P: Printer<'b>>(p: &mut P, btf: &'b Btf<'_>, proto: u32, at: Nest) {
    let Some(t) = btf.ty(proto) else { return };
    let n = t.vlen();
    if n == 0 {
        p.out().push_str("void");
    }
    let names = p.spelling().param_names;
    for (i, param) in t.params().enumerate() {
        if i > 0 {
            p.out().push_str(", ");
        }
        if i + 1 == n && param.type_id == 0 {
            p.out().push_str("...");
        } else {
            let name = if names { param.name } else { "" };
            write_decl(p, btf, param.type_id, name, at);
        }
    }
}

/// Appends a decimal number.
pub fn push_num(out: &mut String, v: impl itoa::Integer) {
    out.push_str(itoa::Buffer::new().format(v));
}

/// Appends `n` tabs.
pub fn push_tabs(out: &mut String, n: u32) {
    const TABS: &str = "\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t";
    match TABS.get(..n as usize) {
        Some(tabs) => out.push_str(tabs),
        None => (0..n).for_each(|_| out.push('\t')),
    }
}

/// A small printer that owns its output: skeleton variables and package.json type names.
struct Owned<'b, 'a> {
    btf: &'b Btf<'a>,
    sp: Spelling,
    out: String,
    chain: Vec<Link<'b>>,
    package: bool,
}

impl<'b, 'a> Owned<'b, 'a> {
    fn new(btf: &'b Btf<'a>, sp: Spelling, package: bool) -> Self {
        Owned {
            btf,
            sp,
            out: String::new(),
            chain: Vec::new(),
            package,
        }
    }
}

impl<'b> Printer<'b> for Owned<'b, '_> {
    fn spelling(&self) -> Spelling {
        self.sp
    }
    fn out(&mut self) -> &mut String {
        &mut self.out
    }
    fn chain(&mut self) -> &mut Vec<Link<'b>> {
        &mut self.chain
    }
    fn write_base(&mut self, id: u32, base: Option<Ty<'b>>, at: Nest) {
        match self.package {
            true => package_base(self, id, base, at),
            false => skeleton_base(self, base, at),
        }
    }
}

/// `<type> <name>` for a skeleton's data-section variable, at indentation `lvl`. `strip_mods`
/// drops `const`, `volatile` and `restrict` everywhere, as bpftool does for data sections that
/// user space writes. Named types are referenced by name only; anonymous bodies go inline,
/// one member a line.
pub fn skeleton_var(btf: &Btf<'_>, id: u32, name: &str, strip_mods: bool, lvl: u32) -> String {
    let sp = Spelling {
        quals: !strip_mods,
        tags: false,
        param_names: true,
        abstracts: Abstract::Compact,
    };
    let mut p = Owned::new(btf, sp, false);
    write_decl(&mut p, btf, id, name, Nest::at(lvl));
    p.out
}

fn skeleton_base<'b>(p: &mut Owned<'b, '_>, t: Option<Ty<'b>>, at: Nest) {
    let out = &mut p.out;
    let Some(t) = t else {
        return out.push_str("void");
    };
    let named = t.is_named();
    let union = t.kind() == Kind::Union;
    match t.kind() {
        Kind::Int | Kind::Float | Kind::Typedef => out.push_str(t.name()),
        Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 | Kind::Fwd if named => {
            out.push_str(match t.kind() {
                Kind::Union => "union ",
                Kind::Fwd if t.kind_flag() => "union ",
                Kind::Enum | Kind::Enum64 => "enum ",
                _ => "struct ",
            });
            out.push_str(t.name());
        }
        Kind::Fwd => out.push_str(if t.kind_flag() { "union " } else { "struct " }),
        Kind::Struct | Kind::Union => {
            out.push_str(if union { "union {\n" } else { "struct {\n" });
            for m in t.members() {
                push_tabs(&mut p.out, at.lvl + 1);
                let btf = p.btf;
                write_decl(p, btf, m.type_id, m.name, at.body());
                if m.bitfield_size > 0 {
                    p.out.push_str(": ");
                    push_num(&mut p.out, m.bitfield_size);
                }
                p.out.push_str(";\n");
            }
            push_tabs(&mut p.out, at.lvl);
            p.out.push('}');
        }
        Kind::Enum | Kind::Enum64 => {
            out.push_str("enum {\n");
            for v in t.enum_values() {
                push_tabs(out, at.lvl + 1);
                out.push_str(v.name);
                out.push_str(" = ");
                // Plain numbers as bpftool writes them; a suffix only past 32 bits.
                if v.signed {
                    let n = v.bits as i64;
                    push_num(out, n);
                    if i32::try_from(n).is_err() {
                        out.push_str("LL");
                    }
                } else {
                    push_num(out, v.bits);
                    if v.bits > u64::from(u32::MAX) {
                        out.push_str("ULL");
                    }
                }
                out.push_str(",\n");
            }
            push_tabs(out, at.lvl);
            out.push('}');
        }
        _ => out.push_str("void"),
    }
}

/// The type name of `id` as package.json writes it: an abstract declarator with qualifiers
/// and type tags dropped (`int`, `char[16]`, `struct event *`, `int (*)(void *, unsigned
/// long)`), the spelling the runtime's CLI parser expects. Anonymous structs, unions and enums
/// are written out inline.
pub fn type_name(btf: &Btf<'_>, id: u32) -> String {
    let sp = Spelling {
        quals: false,
        tags: false,
        param_names: false,
        abstracts: Abstract::CompactCalls,
    };
    let mut p = Owned::new(btf, sp, true);
    write_decl(&mut p, btf, id, "", Nest::TOP);
    p.out
}

fn package_base<'b>(p: &mut Owned<'b, '_>, id: u32, t: Option<Ty<'b>>, at: Nest) {
    let Some(t) = t else {
        p.out.push_str("<bad type ");
        push_num(&mut p.out, id);
        return p.out.push('>');
    };
    let name = t.name();
    let out = &mut p.out;
    match t.kind() {
        Kind::Void => out.push_str("void"),
        // <stdbool.h>'s `bool` is `_Bool` in BTF; the runtime's CLI knows it as `bool`.
        Kind::Int if name == "_Bool" => out.push_str("bool"),
        Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 | Kind::Fwd => {
            out.push_str(match t.kind() {
                Kind::Union => "union",
                Kind::Fwd if t.kind_flag() => "union",
                Kind::Enum | Kind::Enum64 => "enum",
                _ => "struct",
            });
            if !name.is_empty() {
                out.push(' ');
                return out.push_str(name);
            }
            out.push_str(" {");
            let btf = p.btf;
            let before = p.out.len();
            match t.kind() {
                Kind::Struct | Kind::Union => {
                    for m in t.members() {
                        p.out.push(' ');
                        write_decl(p, btf, m.type_id, m.name, at.body());
                        if m.bitfield_size > 0 {
                            p.out.push_str(": ");
                            push_num(&mut p.out, m.bitfield_size);
                        }
                        p.out.push(';');
                    }
                }
                _ => {
                    for v in t.enum_values() {
                        p.out.push(' ');
                        p.out.push_str(v.name);
                        p.out.push(',');
                    }
                }
            }
            // An empty body reads `{  }`.
            if p.out.len() == before {
                p.out.push(' ');
            }
            p.out.push_str(" }");
        }
        _ => out.push_str(name),
    }
}

#[cfg(test)]
mod tests {
    use super::{skeleton_var, type_name};
    use crate::btf::tests::builder::{Builder, CHAR, SIGNED};
    use crate::btf::Btf;

    /// The same declarators in the package.json and skeleton spellings (`format c`'s is
    /// compared with bpftool's output in tests/format_c.rs).
    #[test]
    fn one_walk_three_spellings() {
        let mut b = Builder::new();
        let int = b.int("int", 4, SIGNED, 0, 32);
        let char_ = b.int("char", 1, CHAR, 0, 8);
        let cchar = b.const_(char_);
        let pcchar = b.ptr(cchar);
        let cpcchar = b.const_(pcchar);
        let arr = b.array(char_, int, 16);
        let pvoid = b.ptr(0);
        let proto = b.func_proto(int, &[("", pvoid), ("", int)]);
        let pproto = b.ptr(proto);
        let parr = b.ptr(arr);
        let tagged = b.type_tag("user", int);
        let ptagged = b.ptr(tagged);
        let anon = b.struct_("", 20, &[("a", int, 0), ("b", arr, 32)]);
        let blob = b.build();
        let btf = Btf::parse(&blob).expect("valid BTF");

        let package = |id| type_name(&btf, id);
        assert_eq!(package(cpcchar), "char *");
        assert_eq!(package(arr), "char[16]");
        assert_eq!(package(proto), "int(void *, int)");
        assert_eq!(package(pproto), "int (*)(void *, int)");
        assert_eq!(package(parr), "char (*)[16]");
        assert_eq!(package(ptagged), "int *");
        assert_eq!(package(anon), "struct { int a; char b[16]; }");
        assert_eq!(package(9999), "<bad type 9999>");

        let skel = |id, name, strip| skeleton_var(&btf, id, name, strip, 2);
        assert_eq!(skel(cpcchar, "s", false), "const char *const s");
        assert_eq!(skel(cpcchar, "", false), "const char *const");
        assert_eq!(skel(cpcchar, "s", true), "char *s");
        assert_eq!(skel(arr, "", true), "char[16]");
        assert_eq!(skel(pproto, "f", true), "int (*f)(void *, int)");
        assert_eq!(skel(parr, "p", true), "char (*p)[16]");
        assert_eq!(skel(ptagged, "p", false), "int *p");
        assert_eq!(
            skel(anon, "x", true),
            "struct {\n\t\t\tint a;\n\t\t\tchar b[16];\n\t\t} x"
        );
    }
}
