//! C declarators and definitions: `struct`/`union`/`enum` bodies and the inside-out
//! declarator syntax for pointers, arrays, function prototypes and qualifiers.

use std::fmt::Write;

use crate::btf::{Kind, Ty};

use super::Dumper;

/// One step from a declarator towards its base type. Qualifiers and type tags know whether
/// they apply to a pointer (written beside its `*`) or to the base type (written beside it);
/// arrays and prototypes know whether they need parentheses around what is inside them.
#[derive(Clone, Copy)]
pub(super) enum Link<'a> {
    Ptr,
    Array { nelems: u32, wrap: bool },
    Func { proto: u32, wrap: bool },
    Qual { q: &'static str, on_ptr: bool },
    Tag { tag: &'a str, on_ptr: bool },
}

/// Longer modifier chains than this come only from crafted BTF.
const MAX_CHAIN: usize = 1024;

impl<'b, 'a> Dumper<'b, 'a> {
    /// Writes `<type> <name>` for `id`, e.g. `void (*name)(int)` or `char name[16]`.
    ///
    /// C declarators read inside out: the links nearest the name are written next to it,
    /// pointers (and what qualifies them) to its left, arrays and parameter lists to its
    /// right, and a pointer to an array or function is parenthesised. Everything goes straight
    /// into the output; nested declarators (parameters) use the chain stack above ours.
    pub(super) fn write_decl(&mut self, id: u32, name: &str, lvl: u32) {
        let start = self.chain.len();
        let base = self.push_chain(id, start);
        let end = self.chain.len();
        let links = start..end;
        // Which qualifiers and tags sit on a pointer: look right past other qualifiers.
        let mut next_is_ptr = false;
        for i in links.clone().rev() {
            match &mut self.chain[i] {
                Link::Qual { on_ptr, .. } | Link::Tag { on_ptr, .. } => *on_ptr = next_is_ptr,
                l => next_is_ptr = matches!(l, Link::Ptr),
            }
        }
        // An array or prototype applied to a pointer declarator needs parentheses.
        let mut starts_with_ptr = false;
        let mut declarator = !name.is_empty();
        for link in &mut self.chain[links.clone()] {
            match link {
                Link::Ptr => starts_with_ptr = true,
                Link::Qual { on_ptr: true, .. } | Link::Tag { on_ptr: true, .. } => {
                    starts_with_ptr = false
                }
                Link::Qual { .. } | Link::Tag { .. } => continue,
                Link::Array { wrap, .. } | Link::Func { wrap, .. } => {
                    *wrap = std::mem::take(&mut starts_with_ptr);
                }
            }
            declarator = true;
        }
        // Qualifiers of the base type go before it, each once.
        let mut written: [&str; 3] = [""; 3];
        for i in links.clone() {
            if let Link::Qual { q, on_ptr: false } = self.chain[i] {
                if let Some(slot) = written.iter_mut().find(|w| w.is_empty() || **w == q) {
                    if slot.is_empty() {
                        *slot = q;
                        self.out.push_str(q);
                        self.out.push(' ');
                    }
                }
            }
        }
        self.write_base(base, lvl);
        for i in links.clone() {
            if let Link::Tag { tag, on_ptr: false } = self.chain[i] {
                self.out.push_str(" __attribute__((btf_type_tag(\"");
                self.out.push_str(tag);
                self.out.push_str("\")))");
            }
        }
        if declarator {
            self.out.push(' ');
        }
        for i in links.clone().rev() {
            match self.chain[i] {
                Link::Ptr => self.out.push('*'),
                Link::Qual { q, on_ptr: true } => {
                    self.out.push_str(q);
                    self.out.push(' ');
                }
                Link::Tag { tag, on_ptr: true } => {
                    self.out.push_str("__attribute__((btf_type_tag(\"");
                    self.out.push_str(tag);
                    self.out.push_str("\"))) ");
                }
                Link::Array { wrap: true, .. } | Link::Func { wrap: true, .. } => {
                    self.out.push('(')
                }
                _ => {}
            }
        }
        self.out.push_str(name);
        for i in links {
            match self.chain[i] {
                Link::Array { nelems, wrap } => {
                    if wrap {
                        self.out.push(')');
                    }
                    self.out.push('[');
                    push_num(&mut self.out, u64::from(nelems));
                    self.out.push(']');
                }
                Link::Func { proto, wrap } => {
                    if wrap {
                        self.out.push(')');
                    }
                    self.out.push('(');
                    self.write_params(proto, lvl);
                    self.out.push(')');
                }
                _ => {}
            }
        }
        self.chain.truncate(start);
    }

    /// Pushes the links from `id` down to its base type onto the chain; returns the base.
    fn push_chain(&mut self, id: u32, start: usize) -> Option<Ty<'b>> {
        let btf = self.btf;
        let mut base = id;
        while self.chain.len() - start < MAX_CHAIN {
            // Kinds and referenced ids come from the dense arrays; only arrays, type tags and
            // the base itself need their record.
            let link = match btf.kind_of(base)? {
                Kind::Ptr => Link::Ptr,
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
                Kind::TypeTag => Link::Tag {
                    tag: btf.ty(base)?.name(),
                    on_ptr: false,
                },
                Kind::Array => {
                    let a = btf.ty(base)?.array().unwrap_or_default();
                    self.chain.push(Link::Array {
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
                Kind::Typedef if self.names.is_va_list(base) => {
                    base = btf.word_of(base)?;
                    continue;
                }
                _ => return btf.ty(base),
            };
            self.chain.push(link);
            base = btf.word_of(base)?;
        }
        btf.ty(base)
    }

    fn push_pads(&mut self, pads: &[super::pad::Pad], lvl: u32) {
        for p in pads {
            self.indent(lvl);
            match *p {
                super::pad::Pad::Bits { ty, bits } => {
                    self.out.push_str(ty);
                    self.out.push_str(": ");
                    push_num(&mut self.out, u64::from(bits));
                }
                super::pad::Pad::Bytes { at, len } => {
                    self.out.push_str("char __pad_at_");
                    push_num(&mut self.out, at);
                    self.out.push('[');
                    push_num(&mut self.out, len);
                    self.out.push(']');
                }
            }
            self.out.push_str(";\n");
        }
    }

    /// A prototype's parameter list, without the parentheses.
    fn write_params(&mut self, proto: u32, lvl: u32) {
        let Some(t) = self.btf.ty(proto) else { return };
        let n = t.vlen();
        if n == 0 {
            self.out.push_str("void");
        }
        for (i, p) in t.params().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            if i + 1 == n && p.type_id == 0 {
                self.out.push_str("...");
            } else {
                self.write_decl(p.type_id, p.name, lvl);
            }
        }
    }

    /// The base type of a declarator: a name, or an anonymous body written inline.
    fn write_base(&mut self, base: Option<Ty<'b>>, lvl: u32) {
        let Some(t) = base else {
            self.out.push_str("void");
            return;
        };
        let id = t.id;
        let named = t.is_named();
        match t.kind() {
            Kind::Void => self.out.push_str("void"),
            Kind::Int | Kind::Float => self.out.push_str(t.name()),
            Kind::Struct | Kind::Union if !named => self.write_composite_def(id, lvl),
            Kind::Enum | Kind::Enum64 if !named => self.write_enum_def(id, lvl),
            Kind::Struct | Kind::Union | Kind::Fwd => {
                let union = t.kind() == Kind::Union || t.kind() == Kind::Fwd && t.kind_flag();
                self.out.push_str(if union { "union " } else { "struct " });
                self.push_name(t);
            }
            Kind::Enum | Kind::Enum64 => {
                self.out.push_str("enum ");
                self.push_name(t);
            }
            Kind::Typedef => self.push_name(t),
            // A FUNC/VAR/DATASEC never sits under a declarator in valid BTF.
            _ => self.out.push_str("void"),
        }
    }

    /// `struct name { ... }` with planned padding and attributes (no trailing `;`).
    pub(super) fn write_composite_def(&mut self, id: u32, lvl: u32) {
        let Some(t) = self.btf.ty(id) else { return };
        self.out.push_str(if t.kind() == Kind::Union {
            "union"
        } else {
            "struct"
        });
        if t.is_named() {
            self.out.push(' ');
            self.push_name(t);
        }
        if t.vlen() == 0 {
            // Zero members: sizes above 0 still need the bytes.
            let size = t.size();
            if size == 0 {
                self.out.push_str(" {}");
            } else {
                self.out.push_str(" {\n");
                self.indent(lvl + 1);
                let _ = writeln!(self.out, "char __pad[{size}];");
                self.indent(lvl);
                self.out.push('}');
            }
            return;
        }
        self.out.push_str(" {\n");
        let plan = self.planner.plan(id, 0);
        let mut pads = plan.pads.iter().peekable();
        for (i, m) in t.members().enumerate() {
            while let Some((_, ps)) = pads.next_if(|(at, _)| *at == i) {
                self.push_pads(ps, lvl + 1);
            }
            self.indent(lvl + 1);
            self.write_decl(m.type_id, m.name, lvl + 1);
            if m.bitfield_size > 0 {
                self.out.push_str(": ");
                push_num(&mut self.out, u64::from(m.bitfield_size));
            }
            self.out.push_str(";\n");
        }
        for (_, ps) in pads {
            self.push_pads(ps, lvl + 1);
        }
        self.indent(lvl);
        self.out.push('}');
        if plan.packed {
            self.out.push_str(" __attribute__((packed))");
        }
        if let Some(a) = plan.aligned {
            let _ = write!(self.out, " __attribute__((aligned({a})))");
        }
    }

    /// `enum name { A = 1, ... }`, sized to the BTF width with a `mode` attribute when the
    /// compiler's default (int) would differ.
    pub(super) fn write_enum_def(&mut self, id: u32, lvl: u32) {
        let Some(t) = self.btf.ty(id) else { return };
        self.out.push_str("enum");
        if t.is_named() {
            self.out.push(' ');
            self.push_name(t);
        }
        if t.vlen() == 0 {
            return;
        }
        self.out.push_str(" {\n");
        for (i, v) in t.enum_values().enumerate() {
            self.indent(lvl + 1);
            self.out.push_str(v.name);
            if let Some(n) = self.names.enum_suffix(id, i) {
                let _ = write!(self.out, "___{n}");
            }
            self.out.push_str(" = ");
            if v.signed && (v.bits as i64) < 0 {
                self.out.push('-');
                push_num(&mut self.out, (v.bits as i64).unsigned_abs());
            } else {
                push_num(&mut self.out, v.bits);
                if v.bits > i64::MAX as u64 {
                    self.out.push_str("ULL");
                }
            }
            self.out.push_str(",\n");
        }
        self.indent(lvl);
        self.out.push('}');
        match t.size() {
            1 => self.out.push_str(" __attribute__((mode(byte)))"),
            2 => self.out.push_str(" __attribute__((mode(HI)))"),
            8 => self.out.push_str(" __attribute__((mode(DI)))"),
            _ => {}
        }
    }
}

/// Appends a decimal number without going through `fmt` (hot on vmlinux-sized output).
pub(super) fn push_num(out: &mut String, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for &b in &buf[i..] {
        out.push(char::from(b));
    }
}
