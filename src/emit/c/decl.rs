//! `format c`'s side of the C declarator printer (`emit::cdecl`): its spelling, base types
//! with decided names, and `struct`/`union`/`enum` definitions with planned padding.

use std::fmt::Write;

use crate::btf::{Kind, Ty};
use crate::emit::cdecl::{self, push_num, Abstract, Link, Nest, Printer, Spelling};

use super::Dumper;

/// `format c` spells declarators as vmlinux.h needs them: qualifiers and type tags kept,
/// abstract parameters spaced as bpftool writes them.
const SPELLING: Spelling = Spelling {
    quals: true,
    tags: true,
    param_names: true,
    abstracts: Abstract::AsNamed,
};

impl<'b> Printer<'b> for Dumper<'b, '_> {
    fn spelling(&self) -> Spelling {
        SPELLING
    }
    fn out(&mut self) -> &mut String {
        &mut self.out
    }
    fn chain(&mut self) -> &mut Vec<Link<'b>> {
        &mut self.chain
    }
    fn looks_through(&self, typedef: u32) -> bool {
        self.names.is_transparent(typedef)
    }
    fn write_base(&mut self, _id: u32, base: Option<Ty<'b>>, at: Nest) {
        self.write_base(base, at)
    }
}

impl<'b, 'a> Dumper<'b, 'a> {
    /// Writes `<type> <name>` for `id`, e.g. `void (*name)(int)` or `char name[16]`.
    pub(super) fn write_decl(&mut self, id: u32, name: &str, at: Nest) {
        let btf = self.btf;
        cdecl::write_decl(self, btf, id, name, at);
    }

    fn push_pads(&mut self, pads: &[super::pad::Pad], lvl: u32) {
        for p in pads {
            self.indent(lvl);
            match *p {
                super::pad::Pad::Bits { ty, bits } => {
                    self.out.push_str(ty);
                    self.out.push_str(": ");
                    push_num(&mut self.out, bits);
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

    /// The base type of a declarator: a name, or an anonymous body written inline.
    fn write_base(&mut self, base: Option<Ty<'b>>, at: Nest) {
        let Some(t) = base else {
            self.out.push_str("void");
            return;
        };
        let id = t.id;
        let named = t.is_named();
        match t.kind() {
            Kind::Void => self.out.push_str("void"),
            Kind::Int | Kind::Float => self.out.push_str(t.name()),
            Kind::Struct | Kind::Union if !named => self.write_composite_def(id, at),
            Kind::Enum | Kind::Enum64 if !named => self.write_enum_def(id, at),
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
    pub(super) fn write_composite_def(&mut self, id: u32, at: Nest) {
        let lvl = at.lvl;
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
            self.write_decl(m.type_id, m.name, at.body());
            if m.bitfield_size > 0 {
                self.out.push_str(": ");
                push_num(&mut self.out, m.bitfield_size);
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
    pub(super) fn write_enum_def(&mut self, id: u32, at: Nest) {
        let lvl = at.lvl;
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
