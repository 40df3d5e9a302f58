//! C declarators and definitions: `struct`/`union`/`enum` bodies and the inside-out
//! declarator syntax for pointers, arrays, function prototypes and qualifiers.

use std::fmt::Write;

use crate::btf::Kind;

use super::Dumper;

/// One step from a declarator towards its base type.
#[derive(Clone, Copy)]
pub(super) enum Link<'a> {
    Ptr,
    Array(u32),
    Func(u32),
    Qual(&'static str),
    Tag(&'a str),
}

/// Longer modifier chains than this come only from crafted BTF.
const MAX_CHAIN: usize = 1024;

impl<'b, 'a> Dumper<'b, 'a> {
    /// Writes `<type> <name>` for `id`, e.g. `void (*name)(int)` or `char name[16]`.
    pub(super) fn write_decl(&mut self, id: u32, name: &str, lvl: u32, depth: u32) {
        let mut chain = std::mem::take(&mut self.chain);
        chain.clear();
        let mut base = id;
        while chain.len() < MAX_CHAIN {
            let Some(t) = self.btf.ty(base) else { break };
            let link = match t.kind() {
                Kind::Ptr => Link::Ptr,
                Kind::Const => Link::Qual("const"),
                Kind::Volatile => Link::Qual("volatile"),
                Kind::Restrict => Link::Qual("restrict"),
                Kind::TypeTag => Link::Tag(t.name()),
                Kind::Array => Link::Array(t.array().map_or(0, |a| a.nelems)),
                Kind::FuncProto => Link::Func(base),
                // Clang's own va_list differs per target; spell out the BTF layout instead.
                Kind::Typedef if t.name() == "__builtin_va_list" => {
                    base = t.type_id();
                    continue;
                }
                _ => break,
            };
            chain.push(link);
            base = match link {
                Link::Array(_) => t.array().map_or(0, |a| a.elem),
                _ => t.type_id(),
            };
        }
        // Fast path: arrays of pointers and plain types need no declarator string.
        let arrays = chain
            .iter()
            .take_while(|l| matches!(l, Link::Array(_)))
            .count();
        if chain[arrays..].iter().all(|l| matches!(l, Link::Ptr)) {
            self.write_base(base, lvl, depth);
            let ptrs = chain.len() - arrays;
            if !name.is_empty() || ptrs > 0 || arrays > 0 {
                self.out.push(' ');
            }
            for _ in 0..ptrs {
                self.out.push('*');
            }
            self.out.push_str(name);
            for l in &chain[..arrays] {
                if let Link::Array(n) = *l {
                    self.out.push('[');
                    push_num(&mut self.out, u64::from(n));
                    self.out.push(']');
                }
            }
            self.chain = chain;
            return;
        }
        let mut d = String::from(name);
        let mut prefix = String::new();
        let mut tags = String::new();
        for (i, link) in chain.iter().enumerate() {
            let on_ptr = chain[i + 1..]
                .iter()
                .find(|l| !matches!(l, Link::Qual(_) | Link::Tag(_)))
                .is_some_and(|l| matches!(l, Link::Ptr));
            match *link {
                Link::Ptr => d.insert(0, '*'),
                Link::Qual(q) if on_ptr => d.insert_str(0, &format!("{q} ")),
                Link::Qual(q) => {
                    if !prefix.split(' ').any(|w| w == q) {
                        prefix.push_str(q);
                        prefix.push(' ');
                    }
                }
                Link::Tag(tag) if on_ptr => {
                    d.insert_str(0, &format!("__attribute__((btf_type_tag(\"{tag}\"))) "))
                }
                Link::Tag(tag) => {
                    let _ = write!(tags, " __attribute__((btf_type_tag(\"{tag}\")))");
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
                    d.push_str(&self.params_text(proto, lvl, depth));
                    d.push(')');
                }
            }
        }
        self.out.push_str(&prefix);
        self.write_base(base, lvl, depth);
        self.out.push_str(&tags);
        if !d.is_empty() {
            self.out.push(' ');
            self.out.push_str(&d);
        }
        self.chain = chain;
    }

    fn push_pads(&mut self, pads: &[super::pad::Pad], lvl: u32) {
        for p in pads {
            self.indent(lvl);
            self.out.push_str(p.ty);
            self.out.push_str(": ");
            push_num(&mut self.out, u64::from(p.bits));
            self.out.push_str(";\n");
        }
    }

    fn params_text(&mut self, proto: u32, lvl: u32, depth: u32) -> String {
        let Some(t) = self.btf.ty(proto) else {
            return String::new();
        };
        let saved = std::mem::take(&mut self.out);
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
                self.write_decl(p.type_id, p.name, lvl, depth + 1);
            }
        }
        std::mem::replace(&mut self.out, saved)
    }

    /// The base type of a declarator: a name, or an anonymous body written inline.
    fn write_base(&mut self, id: u32, lvl: u32, depth: u32) {
        let Some(t) = self.btf.ty(id) else {
            self.out.push_str("void");
            return;
        };
        let named = t.is_named();
        match t.kind() {
            Kind::Void => self.out.push_str("void"),
            Kind::Int | Kind::Float => self.out.push_str(t.name()),
            Kind::Struct | Kind::Union if !named => self.write_composite_def(id, lvl, depth + 1),
            Kind::Enum | Kind::Enum64 if !named => self.write_enum_def(id, lvl),
            Kind::Struct | Kind::Union | Kind::Fwd => {
                let union = t.kind() == Kind::Union || t.kind() == Kind::Fwd && t.kind_flag();
                self.out.push_str(if union { "union " } else { "struct " });
                self.push_name(id);
            }
            Kind::Enum | Kind::Enum64 => {
                self.out.push_str("enum ");
                self.push_name(id);
            }
            Kind::Typedef => self.push_name(id),
            // A FUNC/VAR/DATASEC never sits under a declarator in valid BTF.
            _ => self.out.push_str("void"),
        }
    }

    /// `struct name { ... }` with planned padding and attributes (no trailing `;`).
    pub(super) fn write_composite_def(&mut self, id: u32, lvl: u32, depth: u32) {
        let Some(t) = self.btf.ty(id) else { return };
        self.out.push_str(if t.kind() == Kind::Union {
            "union"
        } else {
            "struct"
        });
        if t.is_named() {
            self.out.push(' ');
            self.push_name(id);
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
            self.write_decl(m.type_id, m.name, lvl + 1, depth);
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
            self.push_name(id);
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
