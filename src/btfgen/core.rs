//! CO-RE relocation specs as libbpf computes them (`relo_core.c`): parsing a relocation's
//! access string against the object's BTF, finding the candidate types in the kernel BTF,
//! matching a spec against a candidate, and the relocated value. BTFGen keeps exactly what
//! the matched target specs touch, so these rules must be libbpf's, quirks included.

use crate::btf::{Btf, Kind, Ty};

/// libbpf's `BPF_CORE_SPEC_MAX_LEN`: the deepest access string it accepts.
const SPEC_MAX_LEN: usize = 64;

/// Declares `ReloKind` and the table that decodes its raw values from one list, in the
/// order of `enum bpf_core_relo_kind`.
macro_rules! relo_kinds {
    ($($kind:ident),* $(,)?) => {
        /// `enum bpf_core_relo_kind`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum ReloKind {
            $($kind),*
        }

        impl ReloKind {
            const ALL: &'static [ReloKind] = &[$(ReloKind::$kind),*];
        }
    };
}

relo_kinds!(
    FieldByteOffset,
    FieldByteSize,
    FieldExists,
    FieldSigned,
    FieldLshiftU64,
    FieldRshiftU64,
    TypeIdLocal,
    TypeIdTarget,
    TypeExists,
    TypeSize,
    EnumvalExists,
    EnumvalValue,
    TypeMatches,
);

impl ReloKind {
    pub fn from_raw(v: u32) -> Option<ReloKind> {
        ReloKind::ALL.get(usize::try_from(v).ok()?).copied()
    }

    pub fn is_field(self) -> bool {
        (self as u32) <= ReloKind::FieldRshiftU64 as u32
    }

    pub fn is_type(self) -> bool {
        matches!(
            self,
            ReloKind::TypeIdLocal
                | ReloKind::TypeIdTarget
                | ReloKind::TypeExists
                | ReloKind::TypeSize
                | ReloKind::TypeMatches
        )
    }

    pub fn is_enumval(self) -> bool {
        matches!(self, ReloKind::EnumvalExists | ReloKind::EnumvalValue)
    }
}

/// One step of a spec: a named member (`name` set) or an array index.
#[derive(Clone, Copy, Debug)]
pub struct Accessor<'a> {
    pub type_id: u32,
    pub idx: u32,
    pub name: Option<&'a str>,
}

/// `struct bpf_core_spec`: the accessors, the raw access string and the bit offset it
/// reaches, against one BTF.
#[derive(Clone, Debug)]
pub struct Spec<'a> {
    pub root_type_id: u32,
    pub kind: ReloKind,
    pub spec: Vec<Accessor<'a>>,
    pub raw: Vec<u32>,
    pub bit_offset: u32,
}

impl<'a> Spec<'a> {
    fn empty(root_type_id: u32, kind: ReloKind) -> Spec<'a> {
        Spec {
            root_type_id,
            kind,
            spec: Vec::new(),
            raw: Vec::new(),
            bit_offset: 0,
        }
    }
}

/// Why a relocation cannot be computed; the caller adds the object and relocation number.
pub type Fail = String;

fn ty<'b>(btf: &'b Btf<'b>, id: u32) -> Result<Ty<'b>, Fail> {
    btf.ty(id)
        .ok_or_else(|| format!("type id {id} out of range"))
}

/// `skip_mods_and_typedefs`: the id landed on and its record.
fn skip<'b>(btf: &'b Btf<'b>, id: u32) -> Result<(u32, Ty<'b>), Fail> {
    let id = btf
        .resolve(id)
        .ok_or_else(|| format!("type id {id} out of range"))?;
    Ok((id, ty(btf, id)?))
}

/// `skip` on a local and a target type at once, as the matching walks always go.
#[allow(clippy::type_complexity)]
fn skip_both<'l, 't>(
    lb: &'l Btf<'l>,
    lid: u32,
    tb: &'t Btf<'t>,
    tid: u32,
) -> Result<((u32, Ty<'l>), (u32, Ty<'t>)), Fail> {
    Ok((skip(lb, lid)?, skip(tb, tid)?))
}

/// `btf__resolve_size`.
fn resolve_size(btf: &Btf<'_>, id: u32) -> Result<u32, Fail> {
    btf.size_of(id)
        .and_then(|s| u32::try_from(s).ok())
        .ok_or_else(|| format!("cannot size type [{id}]"))
}

fn is_composite(k: Kind) -> bool {
    matches!(k, Kind::Struct | Kind::Union)
}

fn is_any_enum(k: Kind) -> bool {
    matches!(k, Kind::Enum | Kind::Enum64)
}

/// `btf_kind_core_compat`: same kind, or both enums of any width.
pub fn kind_compat(a: Kind, b: Kind) -> bool {
    a == b || is_any_enum(a) && is_any_enum(b)
}

/// `bpf_core_essential_name_len`: the name without a `___flavor` suffix.
pub fn essential_len(name: &str) -> usize {
    let b = name.as_bytes();
    // `X___Y` with X and Y not underscores: the name ends after X.
    (0..b.len().saturating_sub(4))
        .rev()
        .find(|&i| b[i] != b'_' && &b[i + 1..i + 4] == b"___" && b[i + 4] != b'_')
        .map_or(b.len(), |i| i + 1)
}

fn member_at<'b>(t: &Ty<'b>, idx: u32) -> Option<crate::btf::Member<'b>> {
    t.members().nth(idx as usize)
}

/// The access string "0:1:2" as numbers, as `sscanf("%d")` would read it.
fn parse_access(s: &str) -> Result<Vec<u32>, Fail> {
    if s.is_empty() || s.starts_with(':') {
        return Err(format!("bad access string '{s}'"));
    }
    let mut raw = Vec::new();
    for part in s.split(':') {
        let n = part
            .parse::<u32>()
            .map_err(|_| format!("bad access string '{s}'"))?;
        if raw.len() == SPEC_MAX_LEN {
            return Err(format!("access string '{s}' too deep"));
        }
        raw.push(n);
    }
    Ok(raw)
}

/// `is_flex_arr`: a zero-length array that is the last member of its struct.
fn is_flex_arr(btf: &Btf<'_>, prev: Option<&Accessor<'_>>, nelems: u32) -> bool {
    match prev {
        Some(acc) if acc.name.is_some() && nelems == 0 => btf
            .ty(acc.type_id)
            .is_some_and(|t| acc.idx as usize + 1 == t.vlen()),
        _ => false,
    }
}

/// `bpf_core_parse_spec`: the local spec of a relocation, against the object's BTF.
pub fn parse_spec<'a>(
    btf: &'a Btf<'a>,
    type_id: u32,
    access: &str,
    kind: ReloKind,
) -> Result<Spec<'a>, Fail> {
    if access.is_empty() || access.starts_with(':') {
        return Err(format!("bad access string '{access}'"));
    }
    let mut spec = Spec::empty(type_id, kind);
    if kind.is_type() {
        return match access {
            "0" => Ok(spec),
            _ => Err(format!("bad type access string '{access}'")),
        };
    }
    spec.raw = parse_access(access)?;
    let (mut id, t) = skip(btf, type_id)?;
    let first = spec.raw[0];
    spec.spec.push(Accessor {
        type_id: id,
        idx: first,
        name: None,
    });
    if kind.is_enumval() {
        let v = (is_any_enum(t.kind()) && spec.raw.len() == 1)
            .then(|| t.enum_value(first as usize))
            .flatten()
            .ok_or_else(|| format!("bad enum value access '{access}' on [{id}]"))?;
        spec.spec[0].name = Some(v.name);
        return Ok(spec);
    }
    let sz = resolve_size(btf, id)?;
    spec.bit_offset = mul_bits(first, sz)?;
    for i in 1..spec.raw.len() {
        let t;
        (id, t) = skip(btf, id)?;
        let idx = spec.raw[i];
        if is_composite(t.kind()) {
            let m = member_at(&t, idx).ok_or_else(|| format!("member {idx} of [{id}] missing"))?;
            spec.bit_offset = add(spec.bit_offset, m.bit_offset)?;
            if t.entry_name_off(idx as usize) != 0 {
                if m.name.is_empty() {
                    return Err(format!("member {idx} of [{id}] has an empty name"));
                }
                spec.spec.push(Accessor {
                    type_id: id,
                    idx,
                    name: Some(m.name),
                });
            }
            id = m.type_id;
        } else if let Some(a) = t.array() {
            id = skip(btf, a.elem)?.0;
            let flex = is_flex_arr(btf, spec.spec.last(), a.nelems);
            if !flex && idx >= a.nelems {
                return Err(format!("array index {idx} out of bounds of [{}]", t.id));
            }
            spec.spec.push(Accessor {
                type_id: id,
                idx,
                name: None,
            });
            let sz = resolve_size(btf, id)?;
            spec.bit_offset = add(spec.bit_offset, mul_bits(idx, sz)?)?;
        } else {
            return Err(format!(
                "access '{access}' reaches [{id}] of kind {}, not a struct, union or array",
                t.kind().raw_name()
            ));
        }
    }
    Ok(spec)
}

fn mul_bits(idx: u32, size: u32) -> Result<u32, Fail> {
    idx.checked_mul(size)
        .and_then(|v| v.checked_mul(8))
        .ok_or_else(|| "bit offset overflows".to_string())
}

fn add(a: u32, b: u32) -> Result<u32, Fail> {
    a.checked_add(b)
        .ok_or_else(|| "bit offset overflows".to_string())
}

/// `bpf_core_add_cands`: the kernel types whose kind fits and whose name equals the local
/// type's without flavor suffixes, in id order.
pub fn find_cands(local: &Btf<'_>, local_id: u32, targ: &Btf<'_>) -> Result<Vec<u32>, Fail> {
    let lt = ty(local, local_id)?;
    let name = lt.name();
    let len = essential_len(name);
    let (lk, ess) = (lt.kind(), &name.as_bytes()[..len]);
    Ok(targ
        .ids()
        .filter(|&id| targ.kind_of(id).is_some_and(|k| kind_compat(k, lk)))
        .filter(|&id| {
            let n = targ.ty(id).map(|t| t.name()).unwrap_or("");
            !n.is_empty() && essential_len(n) == len && n.as_bytes()[..len] == *ess
        })
        .collect())
}

/// `bpf_core_fields_are_compat`.
fn fields_compat(lb: &Btf<'_>, lid: u32, tb: &Btf<'_>, tid: u32) -> Result<bool, Fail> {
    let (mut lid, mut tid) = (lid, tid);
    for _ in 0..=lb.type_count() {
        let ((_, lt), (_, tt)) = skip_both(lb, lid, tb, tid)?;
        if is_composite(lt.kind()) && is_composite(tt.kind()) {
            return Ok(true);
        }
        if !kind_compat(lt.kind(), tt.kind()) {
            return Ok(false);
        }
        return Ok(match lt.kind() {
            Kind::Ptr | Kind::Float => true,
            Kind::Fwd | Kind::Enum | Kind::Enum64 => {
                let (ln, tn) = (lt.name(), tt.name());
                let (ll, tl) = (essential_len(ln), essential_len(tn));
                ll == 0 || tl == 0 || ll == tl && ln.as_bytes()[..ll] == tn.as_bytes()[..tl]
            }
            Kind::Int => {
                lt.int().is_some_and(|i| i.offset == 0) && tt.int().is_some_and(|i| i.offset == 0)
            }
            Kind::Array => {
                lid = lt.array().map(|a| a.elem).unwrap_or(0);
                tid = tt.array().map(|a| a.elem).unwrap_or(0);
                continue;
            }
            _ => false,
        });
    }
    Err("array nesting too deep".into())
}

/// `__bpf_core_types_are_compat`, for type-based relocations.
fn types_compat(lb: &Btf<'_>, lid: u32, tb: &Btf<'_>, tid: u32, level: i32) -> Result<bool, Fail> {
    if !kind_compat(ty(lb, lid)?.kind(), ty(tb, tid)?.kind()) {
        return Ok(false);
    }
    let (mut lid, mut tid) = (lid, tid);
    for _ in 0..32 {
        let ((_, lt), (_, tt)) = skip_both(lb, lid, tb, tid)?;
        if !kind_compat(lt.kind(), tt.kind()) {
            return Ok(false);
        }
        match lt.kind() {
            Kind::Void | Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 | Kind::Fwd => {
                return Ok(true)
            }
            Kind::Int => {
                return Ok(lt.int().is_some_and(|i| i.offset == 0)
                    && tt.int().is_some_and(|i| i.offset == 0))
            }
            Kind::Ptr => (lid, tid) = (lt.type_id(), tt.type_id()),
            Kind::Array => {
                lid = lt.array().map(|a| a.elem).unwrap_or(0);
                tid = tt.array().map(|a| a.elem).unwrap_or(0);
            }
            Kind::FuncProto => {
                if lt.vlen() != tt.vlen() {
                    return Ok(false);
                }
                for (lp, tp) in lt.param_types().zip(tt.param_types()) {
                    if level <= 0 {
                        return Err("function prototypes nest too deep".into());
                    }
                    let ((l, _), (t, _)) = skip_both(lb, lp, tb, tp)?;
                    if !types_compat(lb, l, tb, t, level - 1)? {
                        return Ok(false);
                    }
                }
                ((lid, _), (tid, _)) = skip_both(lb, lt.type_id(), tb, tt.type_id())?;
            }
            _ => return Ok(false),
        }
    }
    Err("type nesting too deep".into())
}

/// `bpf_core_names_match`: both anonymous, or equal without flavor suffixes.
fn names_match(ln: &str, tn: &str) -> bool {
    if tn.is_empty() {
        return ln.is_empty();
    }
    let (ll, tl) = (essential_len(ln), essential_len(tn));
    ll == tl && ln.as_bytes()[..ll] == tn.as_bytes()[..tl]
}

/// `__bpf_core_types_match`, for TYPE_MATCHES relocations: names, kinds, sizes and
/// signedness agree, every local member or enumerator has a namesake that matches in turn;
/// behind a pointer, a struct and a forward declaration of it match.
fn types_match(
    lb: &Btf<'_>,
    lid: u32,
    tb: &Btf<'_>,
    tid: u32,
    mut behind_ptr: bool,
    level: i32,
) -> Result<bool, Fail> {
    if level <= 0 {
        return Err("types nest too deep to match".into());
    }
    let (mut lid, mut tid) = (lid, tid);
    for _ in 0..32 {
        let ((_, lt), (_, tt)) = skip_both(lb, lid, tb, tid)?;
        if !names_match(lt.name(), tt.name()) {
            return Ok(false);
        }
        let (lk, tk) = (lt.kind(), tt.kind());
        let same = lk == tk;
        match lk {
            Kind::Void => return Ok(same),
            Kind::Fwd => {
                let lf = lt.kind_flag();
                return Ok(if same {
                    lf == tt.kind_flag()
                } else {
                    behind_ptr && (tk == Kind::Struct && !lf || tk == Kind::Union && lf)
                });
            }
            Kind::Enum | Kind::Enum64 => {
                if !is_any_enum(tk) || lt.size() != tt.size() || lt.vlen() > tt.vlen() {
                    return Ok(false);
                }
                let ok = lt
                    .enum_values()
                    .all(|lv| tt.enum_values().any(|tv| names_match(lv.name, tv.name)));
                return Ok(ok);
            }
            Kind::Struct | Kind::Union => {
                if behind_ptr {
                    return Ok(same || tk == Kind::Fwd && (lk == Kind::Union) == tt.kind_flag());
                }
                if !same || lt.vlen() > tt.vlen() {
                    return Ok(false);
                }
                for lm in lt.members() {
                    let mut matched = false;
                    for tm in tt.members() {
                        if names_match(lm.name, tm.name)
                            && types_match(lb, lm.type_id, tb, tm.type_id, behind_ptr, level - 1)?
                        {
                            matched = true;
                            break;
                        }
                    }
                    if !matched {
                        return Ok(false);
                    }
                }
                return Ok(true);
            }
            Kind::Int => {
                let sign = |t: &Ty<'_>| t.int().is_some_and(|i| i.is_signed());
                return Ok(same && lt.size() == tt.size() && sign(&lt) == sign(&tt));
            }
            Kind::Ptr if same => {
                behind_ptr = true;
                (lid, tid) = (lt.type_id(), tt.type_id());
            }
            Kind::Array if same => {
                let (la, ta) = (
                    lt.array().unwrap_or_default(),
                    tt.array().unwrap_or_default(),
                );
                if la.nelems != ta.nelems {
                    return Ok(false);
                }
                (lid, tid) = (la.elem, ta.elem);
            }
            Kind::FuncProto if same => {
                if lt.vlen() != tt.vlen() {
                    return Ok(false);
                }
                for (lp, tp) in lt.param_types().zip(tt.param_types()) {
                    if !types_match(lb, lp, tb, tp, behind_ptr, level - 1)? {
                        return Ok(false);
                    }
                }
                (lid, tid) = (lt.type_id(), tt.type_id());
            }
            _ => return Ok(false),
        }
    }
    Err("types nest too deep to match".into())
}

/// `bpf_core_match_member`: finds the local accessor's member in `targ_id`, descending
/// into anonymous members, pushing onto `spec` as libbpf does (an incompatible named match
/// inside an anonymous member leaves its raw entry behind, as in libbpf).
fn match_member<'t>(
    lb: &Btf<'_>,
    acc: &Accessor<'_>,
    tb: &'t Btf<'t>,
    targ_id: u32,
    spec: &mut Spec<'t>,
    next: &mut u32,
) -> Result<bool, Fail> {
    let (targ_id, tt) = skip(tb, targ_id)?;
    if !is_composite(tt.kind()) {
        return Ok(false);
    }
    let lt = ty(lb, acc.type_id)?;
    let lm = member_at(&lt, acc.idx).ok_or("local member out of range")?;
    for (i, m) in tt.members().enumerate() {
        if spec.raw.len() == SPEC_MAX_LEN {
            return Err("struct/union/array nesting too deep".into());
        }
        spec.bit_offset = spec.bit_offset.wrapping_add(m.bit_offset);
        spec.raw.push(i as u32);
        if m.name.is_empty() {
            if match_member(lb, acc, tb, m.type_id, spec, next)? {
                return Ok(true);
            }
        } else if m.name == lm.name {
            spec.spec.push(Accessor {
                type_id: targ_id,
                idx: i as u32,
                name: Some(m.name),
            });
            *next = m.type_id;
            let ok = fields_compat(lb, lm.type_id, tb, m.type_id)?;
            if !ok {
                spec.spec.pop();
            }
            return Ok(ok);
        }
        spec.bit_offset = spec.bit_offset.wrapping_sub(m.bit_offset);
        spec.raw.pop();
    }
    Ok(false)
}

/// `bpf_core_spec_match`: the target spec of `local` against candidate `targ_id`, or `None`
/// when the candidate does not fit.
pub fn spec_match<'t>(
    lb: &Btf<'_>,
    local: &Spec<'_>,
    tb: &'t Btf<'t>,
    targ_id: u32,
) -> Result<Option<Spec<'t>>, Fail> {
    let mut ts = Spec::empty(targ_id, local.kind);
    if local.kind.is_type() {
        let ok = if local.kind == ReloKind::TypeMatches {
            types_match(lb, local.root_type_id, tb, targ_id, false, 32)?
        } else {
            types_compat(lb, local.root_type_id, tb, targ_id, 32)?
        };
        return Ok(ok.then_some(ts));
    }
    if local.kind.is_enumval() {
        let (id, t) = skip(tb, targ_id)?;
        if !is_any_enum(t.kind()) {
            return Ok(None);
        }
        let ln = local.spec[0].name.unwrap_or("");
        let len = essential_len(ln);
        for (i, v) in t.enum_values().enumerate() {
            if essential_len(v.name) == len && v.name.as_bytes()[..len] == ln.as_bytes()[..len] {
                ts.spec.push(Accessor {
                    type_id: id,
                    idx: i as u32,
                    name: Some(v.name),
                });
                ts.raw.push(i as u32);
                return Ok(Some(ts));
            }
        }
        return Ok(None);
    }
    let mut id = targ_id;
    for (i, acc) in local.spec.iter().enumerate() {
        let t;
        (id, t) = skip(tb, id)?;
        if acc.name.is_some() {
            let mut next = 0;
            if !match_member(lb, acc, tb, id, &mut ts, &mut next)? {
                return Ok(None);
            }
            id = next;
        } else {
            if i > 0 {
                let Some(a) = t.array() else {
                    return Ok(None);
                };
                if !is_flex_arr(tb, ts.spec.last(), a.nelems) && acc.idx >= a.nelems {
                    return Ok(None);
                }
                id = skip(tb, a.elem)?.0;
            }
            if ts.raw.len() == SPEC_MAX_LEN {
                return Err("struct/union/array nesting too deep".into());
            }
            ts.spec.push(Accessor {
                type_id: id,
                idx: acc.idx,
                name: None,
            });
            ts.raw.push(acc.idx);
            let sz = resolve_size(tb, id)?;
            ts.bit_offset = ts
                .bit_offset
                .wrapping_add(acc.idx.wrapping_mul(sz).wrapping_mul(8));
        }
    }
    Ok(Some(ts))
}

/// The relocated value (`bpf_core_calc_relo`'s new or original value) for a spec, or
/// `None` when libbpf would poison the instruction.
pub fn value(btf: &Btf<'_>, kind: ReloKind, spec: Option<&Spec<'_>>) -> Result<Option<u64>, Fail> {
    use ReloKind::*;
    if kind.is_field() {
        if kind == FieldExists {
            return Ok(Some(u64::from(spec.is_some())));
        }
        let Some(spec) = spec else { return Ok(None) };
        let acc = spec.spec.last().ok_or("empty spec")?;
        if acc.name.is_none() {
            return match kind {
                FieldByteOffset => Ok(Some(u64::from(spec.bit_offset / 8))),
                FieldByteSize => Ok(Some(resolve_size(btf, acc.type_id)?.into())),
                _ => Err("relocation cannot be applied to an array access".into()),
            };
        }
        let t = ty(btf, acc.type_id)?;
        let m = member_at(&t, acc.idx).ok_or("member out of range")?;
        let (fid, mt) = skip(btf, m.type_id)?;
        let bit_off = u64::from(spec.bit_offset);
        let bit_sz = u64::from(m.bitfield_size);
        let (byte_off, byte_sz, bit_sz) = if bit_sz > 0 {
            let mut byte_sz = u64::from(mt.size());
            if byte_sz == 0 {
                return Err(format!("bitfield of zero-sized type [{fid}]"));
            }
            let mut byte_off = bit_off / 8 / byte_sz * byte_sz;
            while bit_off + bit_sz - byte_off * 8 > byte_sz * 8 {
                if byte_sz >= 8 {
                    return Err("bitfield cannot be read with a 64-bit load".into());
                }
                byte_sz *= 2;
                byte_off = bit_off / 8 / byte_sz * byte_sz;
            }
            (byte_off, byte_sz, bit_sz)
        } else {
            let sz = u64::from(resolve_size(btf, fid)?);
            (bit_off / 8, sz, sz * 8)
        };
        return Ok(Some(match kind {
            FieldByteOffset => byte_off,
            FieldByteSize => byte_sz,
            FieldSigned => u64::from(
                is_any_enum(mt.kind()) && mt.kind_flag() || mt.int().is_some_and(|i| i.is_signed()),
            ),
            FieldLshiftU64 => 64u64.wrapping_sub(bit_off + bit_sz - byte_off * 8),
            _ => 64u64.wrapping_sub(bit_sz),
        }));
    }
    if kind.is_type() {
        let Some(spec) = spec else {
            return Ok(match kind {
                TypeExists | TypeMatches => Some(0),
                _ => None,
            });
        };
        return Ok(Some(match kind {
            TypeIdLocal | TypeIdTarget => spec.root_type_id.into(),
            TypeExists | TypeMatches => 1,
            _ => resolve_size(btf, spec.root_type_id)?.into(),
        }));
    }
    let Some(spec) = spec else {
        return Ok((kind == EnumvalExists).then_some(0));
    };
    if kind == EnumvalExists {
        return Ok(Some(1));
    }
    let acc = spec.spec.first().ok_or("empty spec")?;
    let v = ty(btf, acc.type_id)?
        .enum_value(acc.idx as usize)
        .ok_or("enum value out of range")?;
    Ok(Some(v.bits))
}
