//! Up-front validation of a BTF blob: every string offset and type id a record holds is in
//! range, integers are well-formed, and no reference chain loops back on itself.

use super::wire::{u32_at, Kind, TYPE_HEADER_LEN};
use super::{Btf, Error};

pub(super) fn validate(btf: &Btf<'_>, types_pos: usize) -> Result<(), Error> {
    let count = btf.type_count();
    for (i, &off) in btf.offsets.iter().enumerate() {
        let id = btf.first_id + i as u32;
        let pos = types_pos + off as usize;
        let rec = &btf.types[off as usize..];
        let t = btf
            .ty(id)
            .ok_or_else(|| Error::at(pos, format!("type [{id}] is unreadable")))?;
        let kind = t.kind();
        let name = |name_off: u32, at: usize| -> Result<(), Error> {
            match btf.is_valid_str(name_off) {
                true => Ok(()),
                false => Err(Error::at(
                    at,
                    format!("type [{id}]: bad string offset {name_off}"),
                )),
            }
        };
        let ty_ref = |tid: u32, at: usize| -> Result<(), Error> {
            if tid < count {
                Ok(())
            } else {
                Err(Error::at(
                    at,
                    format!("type [{id}] refers to type id {tid}, but there are only {count}"),
                ))
            }
        };
        name(t.name_off(), pos)?;
        if kind.has_type_ref() {
            ty_ref(t.type_id(), pos + 8)?;
        }
        let tail = pos + TYPE_HEADER_LEN;
        match kind {
            Kind::Int => {
                let info = t.int().unwrap_or_default();
                let size = t.size();
                if !matches!(size, 1 | 2 | 4 | 8 | 16)
                    || u32::from(info.bits) + u32::from(info.offset) > size * 8
                {
                    return Err(Error::at(
                        pos,
                        format!("type [{id}]: bad INT size {size} / bits {}", info.bits),
                    ));
                }
            }
            Kind::Array => {
                let a = t.array().unwrap_or_default();
                ty_ref(a.elem, tail)?;
                ty_ref(a.index, tail + 4)?;
            }
            Kind::Struct | Kind::Union => {
                for (j, m) in t.member_layout().enumerate() {
                    let at = tail + j * 12;
                    name(u32_at(rec, TYPE_HEADER_LEN + j * 12), at)?;
                    ty_ref(m.type_id, at + 4)?;
                    // As the kernel requires; emitters then never pad past the record.
                    let end = u64::from(m.bit_offset) + u64::from(m.bitfield_size);
                    if end > u64::from(t.size()) * 8 {
                        return Err(Error::at(
                            at + 8,
                            format!(
                                "type [{id}]: member {j} at bit {} lies outside the {}-byte {}",
                                m.bit_offset,
                                t.size(),
                                kind.raw_name()
                            ),
                        ));
                    }
                }
            }
            Kind::Enum | Kind::Enum64 => {
                let stride = if kind == Kind::Enum { 8 } else { 12 };
                for j in 0..t.vlen() {
                    name(u32_at(rec, TYPE_HEADER_LEN + j * stride), tail + j * stride)?;
                }
            }
            Kind::FuncProto => {
                for (j, p) in t.param_types().enumerate() {
                    let at = tail + j * 8;
                    name(u32_at(rec, TYPE_HEADER_LEN + j * 8), at)?;
                    ty_ref(p, at + 4)?;
                }
            }
            Kind::Func if btf.ty(t.type_id()).map(|p| p.kind()) != Some(Kind::FuncProto) => {
                return Err(Error::at(
                    pos + 8,
                    format!("FUNC [{id}] does not point to a FUNC_PROTO"),
                ));
            }
            Kind::Datasec => {
                for (j, v) in t.datasec_vars().enumerate() {
                    ty_ref(v.type_id, tail + j * 12)?;
                }
            }
            _ => {}
        }
    }
    check_loops(btf, types_pos)
}

/// Edges a type's own definition depends on by value (size or name resolution).
fn strong_edges(t: &super::Ty<'_>, out: &mut Vec<u32>) {
    match t.kind() {
        Kind::Typedef | Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag => {
            out.push(t.type_id())
        }
        Kind::Var | Kind::DeclTag => out.push(t.type_id()),
        Kind::Array => out.extend(t.array().map(|a| a.elem)),
        Kind::Struct | Kind::Union => out.extend(t.member_layout().map(|m| m.type_id)),
        _ => {}
    }
}

/// Edges that printing a type's name follows: everything but named composite bodies.
fn naming_edges(t: &super::Ty<'_>, out: &mut Vec<u32>) {
    match t.kind() {
        Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 | Kind::Fwd => {}
        Kind::Ptr | Kind::Func => out.push(t.type_id()),
        Kind::FuncProto => {
            out.push(t.type_id());
            out.extend(t.param_types());
        }
        _ => strong_edges(t, out),
    }
}

/// Rejects cycles in either edge set with an iterative DFS (no recursion on hostile input).
fn check_loops(btf: &Btf<'_>, types_pos: usize) -> Result<(), Error> {
    type EdgeFn = fn(&super::Ty<'_>, &mut Vec<u32>);
    let edge_sets: [(EdgeFn, &str); 2] = [
        (strong_edges, "contains itself"),
        (
            naming_edges,
            "refers to itself through a loop of pointers/modifiers",
        ),
    ];
    let first = btf.first_id;
    let n = btf.offsets.len();
    for (edges, what) in edge_sets {
        // 0 = unvisited, 1 = on the DFS path, 2 = done. Base ids were validated with the base.
        // One shared edge buffer: a frame's pending edges are `edges[start..]`.
        let mut state = vec![0u8; n];
        let mut frames: Vec<(u32, usize)> = Vec::new();
        let mut pending: Vec<u32> = Vec::new();
        for root in 0..n {
            if state[root] != 0 {
                continue;
            }
            let push = |id: u32, pending: &mut Vec<u32>, frames: &mut Vec<(u32, usize)>| {
                frames.push((id, pending.len()));
                if let Some(t) = btf.ty(id) {
                    edges(&t, pending);
                }
            };
            state[root] = 1;
            push(first + root as u32, &mut pending, &mut frames);
            while let Some(&(id, start)) = frames.last() {
                if pending.len() == start {
                    state[(id - first) as usize] = 2;
                    frames.pop();
                    continue;
                }
                let next = pending.pop().unwrap_or(0);
                if next < first {
                    continue;
                }
                let idx = (next - first) as usize;
                match state[idx] {
                    0 => {
                        state[idx] = 1;
                        push(next, &mut pending, &mut frames);
                    }
                    1 => {
                        let off = btf.offsets[(id - first) as usize] as usize;
                        return Err(Error::at(
                            types_pos + off,
                            format!("reference loop: type [{next}] {what}"),
                        ));
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(())
}
