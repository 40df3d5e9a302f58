//! `format raw`: bpftool's plain-text listing of every type, byte for byte as bpftool 7.1
//! prints it. Split BTF lists only its own types; DATASECs are shown as stored (an object's
//! `.BTF` keeps clang's zero sizes and offsets, and bpftool does not fix them up either).

use std::fmt::Write;

use crate::btf::{Btf, Kind, Ty};

/// Every type the blob defines, one record per line plus indented lines for its entries.
pub fn dump(btf: &Btf<'_>) -> String {
    let mut out = String::with_capacity(btf.local_ids().len() * 48);
    for id in btf.local_ids() {
        if let Some(t) = btf.ty(id) {
            // Writing into a String cannot fail.
            let _ = write_type(&mut out, btf, &t);
        }
    }
    out
}

/// A name as bpftool shows it: offset 0 is "(anon)"; a present but empty string stays ''.
fn name<'a>(btf: &'a Btf<'_>, off: u32) -> &'a str {
    if off == 0 {
        "(anon)"
    } else {
        btf.str_at(off).unwrap_or("(invalid)")
    }
}

/// bpftool's table name for a kind; id 0 (void) is "UNKNOWN" there.
fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Void => "UNKNOWN",
        k => k.raw_name(),
    }
}

fn int_encoding(enc: u8) -> &'static str {
    match enc {
        0 => "(none)",
        1 => "SIGNED",
        2 => "CHAR",
        4 => "BOOL",
        _ => "UNKN",
    }
}

fn linkage(l: u32) -> &'static str {
    match l {
        0 => "static",
        1 => "global",
        2 => "extern",
        _ => "(unknown)",
    }
}

fn write_type(out: &mut String, btf: &Btf<'_>, t: &Ty<'_>) -> std::fmt::Result {
    let kind = t.kind();
    write!(
        out,
        "[{}] {} '{}'",
        t.id,
        kind_name(kind),
        name(btf, t.name_off())
    )?;
    match kind {
        Kind::Void => {}
        Kind::Int => {
            let i = t.int().unwrap_or_default();
            write!(
                out,
                " size={} bits_offset={} nr_bits={} encoding={}",
                t.size(),
                i.offset,
                i.bits,
                int_encoding(i.encoding)
            )?;
        }
        Kind::Ptr
        | Kind::Const
        | Kind::Volatile
        | Kind::Restrict
        | Kind::Typedef
        | Kind::TypeTag => write!(out, " type_id={}", t.type_id())?,
        Kind::Array => {
            let a = t.array().unwrap_or_default();
            write!(
                out,
                " type_id={} index_type_id={} nr_elems={}",
                a.elem, a.index, a.nelems
            )?;
        }
        Kind::Struct | Kind::Union => {
            write!(out, " size={} vlen={}", t.size(), t.vlen())?;
            for (i, m) in t.members().enumerate() {
                write!(
                    out,
                    "\n\t'{}' type_id={} bits_offset={}",
                    name(btf, t.entry_name_off(i)),
                    m.type_id,
                    m.bit_offset
                )?;
                if m.bitfield_size != 0 {
                    write!(out, " bitfield_size={}", m.bitfield_size)?;
                }
            }
        }
        Kind::Enum | Kind::Enum64 => {
            let signed = t.kind_flag();
            let enc = if signed { "SIGNED" } else { "UNSIGNED" };
            write!(out, " encoding={enc} size={} vlen={}", t.size(), t.vlen())?;
            for (i, v) in t.enum_values().enumerate() {
                let n = name(btf, t.entry_name_off(i));
                match (kind, signed) {
                    (Kind::Enum, true) => write!(out, "\n\t'{n}' val={}", v.bits as i64)?,
                    (Kind::Enum, false) => write!(out, "\n\t'{n}' val={}", v.bits as u32)?,
                    (_, true) => write!(out, "\n\t'{n}' val={}LL", v.bits as i64)?,
                    (_, false) => write!(out, "\n\t'{n}' val={}ULL", v.bits)?,
                }
            }
        }
        Kind::Fwd => {
            let fwd = if t.kind_flag() { "union" } else { "struct" };
            write!(out, " fwd_kind={fwd}")?;
        }
        Kind::Func | Kind::Var => {
            // bpftool writes a comma after a VAR's type id only.
            let sep = if t.kind() == Kind::Var { "," } else { "" };
            let (id, link) = (t.type_id(), linkage(t.linkage()));
            write!(out, " type_id={id}{sep} linkage={link}")?
        }
        Kind::FuncProto => {
            write!(out, " ret_type_id={} vlen={}", t.type_id(), t.vlen())?;
            for (i, p) in t.params().enumerate() {
                let n = name(btf, t.entry_name_off(i));
                write!(out, "\n\t'{n}' type_id={}", p.type_id)?;
            }
        }
        Kind::Datasec => {
            write!(out, " size={} vlen={}", t.size(), t.vlen())?;
            for v in t.datasec_vars() {
                write!(
                    out,
                    "\n\ttype_id={} offset={} size={}",
                    v.type_id, v.offset, v.size
                )?;
                // bpftool names the target only when the id is in range.
                if let Some(vt) = btf.ty(v.type_id) {
                    write!(
                        out,
                        " ({} '{}')",
                        kind_name(vt.kind()),
                        name(btf, vt.name_off())
                    )?;
                }
            }
        }
        Kind::Float => write!(out, " size={}", t.size())?,
        Kind::DeclTag => write!(
            out,
            " type_id={} component_idx={}",
            t.type_id(),
            t.component_idx()
        )?,
    }
    out.push('\n');
    Ok(())
}
