//! From one BTF type to one IR item. Offsets and sizes come from BTF alone: the cursor walks
//! the members in bits, and every hole becomes explicit padding (a `char` array for whole
//! bytes, unnamed bitfields for bits), so a packed definition reproduces the BTF layout on
//! any target.

use std::borrow::Cow;

use super::names::Names;
use super::{
    describe, EnumDef, Error, Field, FieldType, Item, Record, RecordKind, Scalar, Synthetic,
    Typedef,
};
use crate::btf::{Btf, Kind, Member, Ty};

/// Types nest this deep at most: `depth` counts by-value steps (member, array element,
/// typedef), which validation bounds by `MAX_NESTING`, so the guards below never fire on
/// parsed BTF.
const MAX_DEPTH: u32 = crate::btf::MAX_NESTING;

/// Builds the item that defines `id` (if any), pushing the ids it uses by value to `deps`.
pub(super) fn build_item<'a>(
    btf: &'a Btf<'_>,
    names: &Names<'a>,
    id: u32,
    deps: &mut Vec<u32>,
) -> Result<Option<Item<'a>>, Error> {
    let Some(t) = btf.ty(id) else {
        return Ok(None);
    };
    let at = |msg: String| Error::Layout {
        what: describe(btf, names, id),
        msg,
    };
    let mut cx = Cx { btf, names, deps };
    match t.kind() {
        Kind::Struct | Kind::Union => {
            let mut rec = cx.record(t, Some(names.type_name(id)), 0).map_err(at)?;
            name_pads(&mut rec);
            Ok(Some(Item::Record(rec)))
        }
        Kind::Typedef if !names.is_provided(id) => {
            let (mut ty, size) = cx.field_type(t.type_id(), 0, true).map_err(at)?;
            if let FieldType::Inline(rec) = &mut ty {
                name_pads(rec);
            }
            let size = size
                .map(|s| u32::try_from(s).map_err(|_| at("too large".into())))
                .transpose()?;
            Ok(Some(Item::Typedef(Typedef {
                name: names.type_name(id),
                ty,
                size,
            })))
        }
        Kind::Enum | Kind::Enum64 if t.vlen() > 0 => Ok(Some(Item::Enum(EnumDef {
            name: (!t.name().is_empty()).then(|| names.type_name(id)),
            size: t.size(),
            values: t
                .enum_values()
                .enumerate()
                .map(|(i, v)| {
                    let value = if v.signed {
                        i128::from(v.bits as i64)
                    } else {
                        i128::from(v.bits)
                    };
                    (names.enumerator(id, i, v.name), value)
                })
                .collect(),
        }))),
        _ => Ok(None),
    }
}

/// The record for a data section: each VAR at its given byte offset, holes padded, then
/// tail padding up to the section size.
pub(super) fn synthetic<'a>(
    btf: &'a Btf<'_>,
    names: &Names<'a>,
    syn: &Synthetic,
    deps: &mut Vec<u32>,
) -> Result<Record<'a>, Error> {
    let at = |msg: String| Error::Layout {
        what: format!("struct {}", syn.name),
        msg,
    };
    let mut cx = Cx { btf, names, deps };
    let mut rb = RecordBuilder {
        fields: Vec::new(),
        cursor: 0,
        kind: RecordKind::Struct,
    };
    let total = u64::from(syn.size) * 8;
    for &(var_id, offset) in &syn.vars {
        let var = btf
            .ty(var_id)
            .filter(|t| t.kind() == Kind::Var)
            .ok_or_else(|| at(format!("[{var_id}] is not a VAR")))?;
        let label = |e: String| at(format!("variable '{}': {e}", var.name()));
        let (ty, size) = cx.field_type(var.type_id(), 1, false).map_err(label)?;
        let size = size.ok_or_else(|| label("has an incomplete type".into()))?;
        let end = (u64::from(offset) + size) * 8;
        if end > total {
            return Err(label(format!("runs past the section's {} bytes", syn.size)));
        }
        rb.pad_to(u64::from(offset) * 8).map_err(label)?;
        rb.fields.push(Field::Member {
            name: Some(var.name()),
            ty,
            offset,
            size: to_u32(size, "size").map_err(label)?,
        });
        rb.advance(end);
    }
    rb.pad_to(total).map_err(at)?;
    let mut rec = Record {
        name: Some(Cow::Owned(syn.name.clone())),
        kind: RecordKind::Struct,
        size: syn.size,
        fields: rb.fields,
    };
    name_pads(&mut rec);
    Ok(rec)
}

struct Cx<'x, 'a, 'b> {
    btf: &'a Btf<'b>,
    names: &'x Names<'a>,
    deps: &'x mut Vec<u32>,
}

type Res<T> = Result<T, String>;

/// A size or offset as u32: validation bounds every type's size by `u32::MAX`, so this fails
/// only on a record that lies about its layout.
fn to_u32(v: u64, what: &str) -> Res<u32> {
    u32::try_from(v).map_err(|_| format!("{what} {v} does not fit in 32 bits"))
}

impl<'a> Cx<'_, 'a, '_> {
    /// A struct/union with explicit padding. Pad names are left empty for `name_pads`.
    fn record(&mut self, t: Ty<'a>, name: Option<Cow<'a, str>>, depth: u32) -> Res<Record<'a>> {
        debug_assert!(depth <= MAX_DEPTH, "validation bounds by-value nesting");
        if depth > MAX_DEPTH {
            return Err("anonymous types nest too deeply".into());
        }
        let kind = RecordKind::of_union(t.kind() == Kind::Union);
        let size = t.size();
        let total = u64::from(size) * 8;
        let mut rb = RecordBuilder {
            fields: Vec::new(),
            cursor: 0,
            kind,
        };
        for (i, m) in t.members().enumerate() {
            self.member(&mut rb, &m, t.kind_flag(), total, depth)
                .map_err(|e| match m.name {
                    "" => format!("member #{i}: {e}"),
                    n => format!("member '{n}': {e}"),
                })?;
        }
        match kind {
            RecordKind::Struct => rb.pad_to(total)?,
            RecordKind::Union if rb.cursor.div_ceil(8) < u64::from(size) => {
                rb.fields.push(Field::Pad {
                    name: Cow::Borrowed(""),
                    offset: 0,
                    len: size,
                })
            }
            RecordKind::Union => {}
        }
        Ok(Record {
            name,
            kind,
            size,
            fields: rb.fields,
        })
    }

    fn member(
        &mut self,
        rb: &mut RecordBuilder<'a>,
        m: &Member<'a>,
        kind_flag: bool,
        total: u64,
        depth: u32,
    ) -> Res<()> {
        let name = (!m.name.is_empty()).then_some(m.name);
        if let Some((bit_offset, bits)) = self.bitfield(m, kind_flag) {
            let ty = self.bitfield_scalar(m.type_id)?;
            if u64::from(bits) > u64::from(scalar_bytes(&ty)) * 8 {
                return Err(format!("bitfield of {bits} bits is wider than its type"));
            }
            let end = u64::from(bit_offset) + u64::from(bits);
            if end > total {
                return Err(format!(
                    "bits {bit_offset}..{end} run past the end ({total} bits)"
                ));
            }
            rb.place_bits(u64::from(bit_offset))?;
            rb.fields.push(Field::Bitfield {
                name,
                ty,
                bit_offset,
                bits,
            });
            rb.advance(end);
            return Ok(());
        }
        if !m.bit_offset.is_multiple_of(8) {
            return Err(format!(
                "bit offset {} is not at a byte boundary",
                m.bit_offset
            ));
        }
        let offset = m.bit_offset / 8;
        let (ty, size) = match &name {
            Some(_) => {
                let (ty, size) = self.field_type(m.type_id, depth + 1, false)?;
                (Some(ty), size)
            }
            None => self.anonymous_member(m.type_id, depth + 1)?,
        };
        let size = size.ok_or("has an incomplete type")?;
        let end = (u64::from(offset) + size) * 8;
        if end > total {
            return Err(format!(
                "bytes {offset}..{} run past the end ({} bytes)",
                end / 8,
                total / 8
            ));
        }
        rb.pad_to(u64::from(offset) * 8)?;
        match ty {
            // An unnamed member that is not a struct/union holds nothing one can name.
            None => rb.fields.push(Field::Pad {
                name: Cow::Borrowed(""),
                offset,
                len: to_u32(size, "size")?,
            }),
            Some(ty) => rb.fields.push(Field::Member {
                name,
                ty,
                offset,
                size: to_u32(size, "size")?,
            }),
        }
        rb.advance(end);
        Ok(())
    }

    /// `(bit offset, width)` when `m` is a bitfield, in either BTF encoding: the member's
    /// bitfield size (kind_flag set) or an INT type narrower than its storage (kind_flag 0).
    fn bitfield(&self, m: &Member<'_>, kind_flag: bool) -> Option<(u32, u32)> {
        if kind_flag {
            return (m.bitfield_size > 0).then_some((m.bit_offset, u32::from(m.bitfield_size)));
        }
        let t = self.btf.skip_mods_and_typedefs(m.type_id)?;
        let info = t.int()?;
        (u32::from(info.bits) != t.size() * 8 || info.offset != 0)
            .then_some((m.bit_offset + u32::from(info.offset), u32::from(info.bits)))
    }

    fn bitfield_scalar(&self, type_id: u32) -> Res<Scalar<'a>> {
        let t = self
            .btf
            .skip_mods_and_typedefs(type_id)
            .ok_or("bad type id")?;
        match t.kind() {
            Kind::Int => Ok(int_scalar(&t)),
            Kind::Enum | Kind::Enum64 => enum_repr(&t),
            k => Err(format!("bitfield of non-integer kind {}", k.raw_name())),
        }
    }

    /// An unnamed member: an anonymous struct/union (or, with -fms-extensions, a named one)
    /// is defined inline so that its members are reached as in the original source.
    fn anonymous_member(
        &mut self,
        type_id: u32,
        depth: u32,
    ) -> Res<(Option<FieldType<'a>>, Option<u64>)> {
        let t = self
            .btf
            .skip_mods_and_typedefs(type_id)
            .ok_or("bad type id")?;
        if matches!(t.kind(), Kind::Struct | Kind::Union) {
            let rec = self.record(t, None, depth)?;
            let size = u64::from(rec.size);
            return Ok((Some(FieldType::Inline(Box::new(rec))), Some(size)));
        }
        Ok((None, self.btf.size_of(type_id)))
    }

    /// A member of a named struct or union type (or a forward declaration of one).
    fn named(&self, kind: RecordKind, id: u32) -> FieldType<'a> {
        FieldType::Named {
            kind,
            name: self.names.type_name(id),
        }
    }

    /// A member's type and byte size (`None` if incomplete; allowed only for typedefs).
    fn field_type(
        &mut self,
        mut id: u32,
        depth: u32,
        allow_incomplete: bool,
    ) -> Res<(FieldType<'a>, Option<u64>)> {
        debug_assert!(depth <= MAX_DEPTH, "validation bounds by-value nesting");
        if depth > MAX_DEPTH {
            return Err("types nest too deeply".into());
        }
        let btf = self.btf;
        // Qualifiers and type tags do not change the layout; the header drops them.
        let t = loop {
            let t = btf.ty(id).ok_or_else(|| format!("bad type id {id}"))?;
            match t.kind() {
                Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag => id = t.type_id(),
                _ => break t,
            }
        };
        let size = Some(u64::from(t.size()));
        match t.kind() {
            Kind::Int => Ok((FieldType::Scalar(int_scalar(&t)), size)),
            Kind::Float => Ok((FieldType::Scalar(Scalar::Float(t.size())), size)),
            Kind::Ptr => Ok((FieldType::Pointer, Some(8))),
            Kind::Array => {
                let a = t.array().ok_or("bad array")?;
                let (elem, esize) = self.field_type(a.elem, depth + 1, false)?;
                let esize = esize.ok_or("array of an incomplete type")?;
                Ok((
                    FieldType::Array {
                        elem: Box::new(elem),
                        len: a.nelems,
                    },
                    // Validation bounds every size by u32::MAX, so this cannot fail on parsed BTF.
                    Some(
                        esize
                            .checked_mul(u64::from(a.nelems))
                            .ok_or("array larger than 4 GiB")?,
                    ),
                ))
            }
            Kind::Struct | Kind::Union if t.name().is_empty() => {
                // `depth` already counts this type: one level per nesting level.
                let rec = self.record(t, None, depth)?;
                Ok((FieldType::Inline(Box::new(rec)), size))
            }
            Kind::Struct | Kind::Union => {
                self.deps.push(id);
                let kind = RecordKind::of_union(t.kind() == Kind::Union);
                Ok((self.named(kind, id), size))
            }
            Kind::Enum | Kind::Enum64 => {
                self.deps.push(id);
                let name = (!t.name().is_empty()).then(|| self.names.type_name(id));
                Ok((
                    FieldType::Enum {
                        repr: enum_repr(&t)?,
                        name,
                    },
                    size,
                ))
            }
            Kind::Typedef if self.names.is_provided(id) => {
                self.field_type(t.type_id(), depth + 1, allow_incomplete)
            }
            Kind::Typedef => {
                let size = btf.size_of(id);
                if size.is_none() && !allow_incomplete {
                    return Err(format!(
                        "typedef {} names an incomplete or function type",
                        t.name()
                    ));
                }
                self.deps.push(id);
                Ok((FieldType::Typedef(self.names.type_name(id)), size))
            }
            Kind::Fwd if allow_incomplete => {
                Ok((self.named(RecordKind::of_union(t.kind_flag()), id), None))
            }
            Kind::Fwd => Err(format!(
                "has incomplete type {} {}",
                if t.kind_flag() { "union" } else { "struct" },
                t.name()
            )),
            k => Err(format!("cannot lay out a {} type", k.raw_name())),
        }
    }
}

/// Walks the members of one record in BTF order, tracking the first bit not yet laid out.
struct RecordBuilder<'a> {
    fields: Vec<Field<'a>>,
    cursor: u64,
    kind: RecordKind,
}

impl RecordBuilder<'_> {
    fn advance(&mut self, end: u64) {
        self.cursor = match self.kind {
            RecordKind::Struct => end,
            RecordKind::Union => self.cursor.max(end),
        };
    }

    /// Pads up to byte-aligned bit position `target`, where a non-bitfield member starts.
    /// A packed record starts such a member at the next byte on its own.
    fn pad_to(&mut self, target: u64) -> Res<()> {
        if self.kind == RecordKind::Union {
            return match target {
                0 => Ok(()),
                _ => Err(format!("union member at byte offset {}", target / 8)),
            };
        }
        let at = self.cursor.div_ceil(8) * 8;
        if at > target {
            return Err(format!(
                "starts at byte {} but earlier members reach byte {}",
                target / 8,
                at / 8
            ));
        }
        if target > at {
            self.fields.push(Field::Pad {
                name: Cow::Borrowed(""),
                offset: to_u32(at / 8, "offset")?,
                len: to_u32((target - at) / 8, "padding")?,
            });
        }
        self.cursor = target;
        Ok(())
    }

    /// Pads up to bit position `target`, where a bitfield starts: bits to the next byte,
    /// whole bytes as a `char` array, then the remaining bits.
    fn place_bits(&mut self, target: u64) -> Res<()> {
        if self.kind == RecordKind::Union {
            return match target {
                0 => Ok(()),
                _ => Err(format!("union bitfield at bit offset {target}")),
            };
        }
        if self.cursor > target {
            return Err(format!(
                "starts at bit {target} but earlier members reach bit {}",
                self.cursor
            ));
        }
        if !self.cursor.is_multiple_of(8) {
            let to = target.min(self.cursor.div_ceil(8) * 8);
            self.pad_bits(to)?;
        }
        if target - self.cursor >= 8 {
            let len = (target - self.cursor) / 8;
            self.fields.push(Field::Pad {
                name: Cow::Borrowed(""),
                offset: to_u32(self.cursor / 8, "offset")?,
                len: to_u32(len, "padding")?,
            });
            self.cursor += len * 8;
        }
        self.pad_bits(target)
    }

    fn pad_bits(&mut self, to: u64) -> Res<()> {
        if to > self.cursor {
            self.fields.push(Field::Bitfield {
                name: None,
                ty: Scalar::Fixed {
                    bytes: 1,
                    signed: false,
                },
                bit_offset: to_u32(self.cursor, "bit offset")?,
                bits: to_u32(to - self.cursor, "padding bits")?,
            });
            self.cursor = to;
        }
        Ok(())
    }
}

/// Integer spellings kept as BTF writes them: each word is a C type specifier, and the type
/// has the same size on LP64 and ILP32 (no lone `long`).
fn keepable_int(name: &str, size: u32, signed: bool) -> bool {
    let (mut longs, mut shorts, mut chars, mut ints, mut signs, mut unsigned) =
        (0, 0, 0, 0, 0, false);
    for w in name.split(' ') {
        match w {
            "long" => longs += 1,
            "short" => shorts += 1,
            "char" => chars += 1,
            "int" => ints += 1,
            "signed" => signs += 1,
            "unsigned" => {
                signs += 1;
                unsigned = true;
            }
            _ => return false,
        }
    }
    if ints > 1 || signs > 1 || shorts + chars + longs.min(1) > 1 {
        return false;
    }
    let expect = match (chars, shorts, longs) {
        (1, 0, 0) if ints == 0 && signs == 1 => 1,
        (0, 1, 0) => 2,
        (0, 0, 0) if ints + signs > 0 => 4,
        (0, 0, 2) => 8,
        _ => return false,
    };
    expect == size && signed != unsigned
}

pub(super) fn int_scalar<'a>(t: &Ty<'a>) -> Scalar<'a> {
    let info = t.int().unwrap_or_default();
    let (size, name, signed) = (t.size(), t.name(), info.is_signed());
    if info.is_bool() && size == 1 {
        return Scalar::Bool;
    }
    if size == 16 {
        return Scalar::Int128 { signed };
    }
    // Plain `char` is signed on wasm32 and bpf alike; an unsigned one must say so.
    if size == 1 && (name == "char" || info.is_char()) {
        let name = if signed { "char" } else { "unsigned char" };
        return Scalar::Int { name, bytes: 1 };
    }
    if keepable_int(name, size, signed) {
        return Scalar::Int {
            name,
            // keepable_int takes sizes 1, 2, 4 and 8 only.
            bytes: u8::try_from(size).unwrap_or(8),
        };
    }
    Scalar::Fixed {
        bytes: u8::try_from(size.clamp(1, 8)).unwrap_or(8),
        signed,
    }
}

fn enum_repr<'a>(t: &Ty<'_>) -> Res<Scalar<'a>> {
    match t.size() {
        n @ (1 | 2 | 4 | 8) => Ok(Scalar::Fixed {
            bytes: u8::try_from(n).unwrap_or(8),
            signed: t.kind_flag(),
        }),
        n => Err(format!("enum of size {n}")),
    }
}

fn scalar_bytes(s: &Scalar<'_>) -> u32 {
    match s {
        Scalar::Int { bytes, .. } | Scalar::Fixed { bytes, .. } => u32::from(*bytes),
        Scalar::Bool => 1,
        Scalar::Int128 { .. } => 16,
        Scalar::Float(n) => *n,
    }
}

/// Names the padding of a top-level record `__pad0`, `__pad1`, ... Anonymous members share
/// their parent's scope, so one counter runs over the whole tree and skips taken names.
pub(super) fn name_pads(rec: &mut Record<'_>) {
    // Only member names that look like ours can clash; they are rare.
    fn collect<'r>(fields: &'r [Field<'_>], taken: &mut Vec<&'r str>) {
        for f in fields {
            match f {
                Field::Member { name, ty, .. } => {
                    taken.extend(name.filter(|n| n.starts_with("__pad")));
                    if let Some(r) = inline_of(ty) {
                        collect(&r.fields, taken);
                    }
                }
                Field::Bitfield { name, .. } => {
                    taken.extend(name.filter(|n| n.starts_with("__pad")))
                }
                Field::Pad { .. } => {}
            }
        }
    }
    fn assign(fields: &mut [Field<'_>], taken: &[String], next: &mut u32) {
        for f in fields {
            match f {
                Field::Pad { name, .. } => loop {
                    let cand = format!("__pad{next}");
                    *next += 1;
                    if !taken.contains(&cand) {
                        *name = Cow::Owned(cand);
                        break;
                    }
                },
                Field::Member { ty, .. } => {
                    if let Some(r) = inline_of_mut(ty) {
                        assign(&mut r.fields, taken, next);
                    }
                }
                Field::Bitfield { .. } => {}
            }
        }
    }
    let mut taken = Vec::new();
    collect(&rec.fields, &mut taken);
    let taken: Vec<String> = taken.into_iter().map(str::to_string).collect();
    assign(&mut rec.fields, &taken, &mut 0);
}

/// The inline record inside a member's type, through arrays.
pub fn inline_of<'r, 'a>(ty: &'r FieldType<'a>) -> Option<&'r Record<'a>> {
    match ty {
        FieldType::Inline(r) => Some(r),
        FieldType::Array { elem, .. } => inline_of(elem),
        _ => None,
    }
}

fn inline_of_mut<'r, 'a>(ty: &'r mut FieldType<'a>) -> Option<&'r mut Record<'a>> {
    match ty {
        FieldType::Inline(r) => Some(r),
        FieldType::Array { elem, .. } => inline_of_mut(elem),
        _ => None,
    }
}
