//! A zero-copy BTF reader: the blob is validated once, then every view borrows from it.
//!
//! `Btf::parse` checks bounds, kinds, string offsets, type ids and reference loops up front,
//! so the views in `types.rs` can index without further checks and never panic.
// A parser of untrusted bytes: narrowing goes through try_from, never a silent `as`, and
// arithmetic is checked, or allowed locally where validation bounds the operands.
#![deny(clippy::cast_possible_truncation, clippy::arithmetic_side_effects)]

mod check;
pub mod ext;
mod index;
mod types;
pub mod wire;
pub mod write;

use std::sync::OnceLock;

pub use types::{
    ArrayInfo, Composite, DatasecVar, EnumValue, Enumeration, IntInfo, Member, MemberLayout, Param,
    Proto, Ty, TypeView,
};
use wire::Header;
pub use wire::Kind;

/// A count or offset inside a blob as u32. The header's section lengths are u32, so every
/// offset, record count and type id within one blob fits; saturating is a second guard.
pub(crate) fn to_u32(v: usize) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// How deep types may nest: the longest chain of by-value containment (arrays, members,
/// typedefs, modifiers) or of naming steps (pointers, prototypes, anonymous bodies) from any
/// type. Validation rejects deeper BTF, so every later walk over a type's structure is
/// bounded by this; the kernel's own limit is far lower (32 resolve steps), so no real
/// program comes near it. One constant for the whole crate.
pub const MAX_NESTING: u32 = 256;

/// A malformed BTF blob, at a byte offset into the blob (see `ParseError::shifted`).
pub type Error = crate::ParseError;

/// Parsed BTF: the base kernel or object BTF, or split BTF on top of a base.
pub struct Btf<'a> {
    header: Header,
    types: &'a [u8],
    /// The string section, checked to be UTF-8 once so lookups need no validation.
    strings: &'a str,
    /// Byte offset of each local type record within `types`.
    offsets: Vec<u32>,
    /// The kind of each local type record, for passes that skip most kinds.
    kinds: Vec<Kind>,
    /// The third header word of each local record: a size or a type id, by kind. With
    /// `kinds`, chains of typedefs, modifiers and pointers are followed in two dense arrays
    /// instead of in records scattered over megabytes.
    words: Vec<u32>,
    base: Option<&'a Btf<'a>>,
    /// The id of the first local type: 1 for base BTF, the base's type count for split BTF.
    first_id: u32,
    /// String offsets below this belong to the base.
    str_base: u32,
    /// Whether the string section is all ASCII (as in vmlinux): then every offset in range
    /// starts a valid string, and checking one needs no read of the section.
    ascii: bool,
    /// Type ids sorted by name, built on the first lookup by name.
    by_name: OnceLock<Vec<u32>>,
    /// Bit per type id: whether a type of this blob refers to it (found during validation).
    referenced: Vec<u64>,
    /// Each local type's resolved byte size, `None` for sizeless kinds (from validation).
    sizes: check::Sizes,
    /// Each local type's nesting depth, 1 to `MAX_NESTING` (from validation).
    nesting: Vec<u16>,
}

/// Publishes a parsed blob to the helper thread, or that there is none when dropped unset.
struct Publish<'c, 'a>(&'c OnceLock<Option<Btf<'a>>>);

impl<'c, 'a> Publish<'c, 'a> {
    /// The blob as published (`None` only if the cell was, wrongly, set before).
    fn set(&self, btf: Btf<'a>) -> Option<&'c Btf<'a>> {
        self.0.get_or_init(|| Some(btf)).as_ref()
    }
}

impl Drop for Publish<'_, '_> {
    fn drop(&mut self) {
        let _ = self.0.set(None);
    }
}

/// The error for a blob that was parsed but not handed over (a bug, never input's fault).
fn unpublished(types_pos: usize) -> Error {
    Error::at(types_pos, "internal error: parsed BTF was not published")
}

impl<'a> Btf<'a> {
    /// Parses a standalone BTF blob (raw `/sys/kernel/btf/vmlinux` or an ELF `.BTF` section).
    pub fn parse(data: &'a [u8]) -> Result<Btf<'a>, Error> {
        Self::parse_inner(data, None)
    }

    /// Parses split BTF (e.g. a module's) whose ids and strings continue those of `base`.
    pub fn parse_split(data: &'a [u8], base: &'a Btf<'a>) -> Result<Btf<'a>, Error> {
        Self::parse_inner(data, Some(base))
    }

    fn set_facts(&mut self, facts: check::Facts) {
        self.referenced = facts.referenced;
        self.sizes = facts.sizes;
        self.nesting = facts.nesting;
    }

    // Header::parse checked that both sections lie within `data`.
    #[allow(clippy::arithmetic_side_effects)]
    fn parse_inner(data: &'a [u8], base: Option<&'a Btf<'a>>) -> Result<Btf<'a>, Error> {
        let header = Header::parse(data)?;
        let body = header.hdr_len;
        let types = &data[body + header.type_off..body + header.type_off + header.type_len];
        let strings = &data[body + header.str_off..body + header.str_off + header.str_len];
        let str_pos = body + header.str_off;
        match base {
            None if strings.first() != Some(&0) => {
                return Err(Error::at(
                    str_pos,
                    "BTF string section must start with a NUL",
                ));
            }
            _ if !strings.is_empty() && strings.last() != Some(&0) => {
                return Err(Error::at(
                    str_pos + strings.len() - 1,
                    "BTF string section is not NUL-terminated",
                ));
            }
            _ => {}
        }
        let text = || {
            let text = std::str::from_utf8(strings).map_err(|e| {
                Error::at(
                    str_pos + e.valid_up_to(),
                    "BTF string section is not valid UTF-8",
                )
            })?;
            Ok::<_, Error>((text, text.is_ascii()))
        };
        let (first_id, str_base) = match base {
            Some(b) => (
                b.type_count(),
                b.str_base.saturating_add(to_u32(b.strings.len())),
            ),
            None => (1, 0),
        };
        let types_pos = body + header.type_off;
        let mut index = index::Index::with_room(types.len());
        let assemble = |index: index::Index, (strings, ascii): (&'a str, bool)| Btf {
            header,
            types,
            strings,
            offsets: index.offsets,
            kinds: index.kinds,
            words: index.words,
            base,
            first_id,
            str_base,
            ascii,
            by_name: OnceLock::new(),
            referenced: Vec::new(),
            sizes: check::Sizes::default(),
            nesting: Vec::new(),
        };
        if types.len() < index::PARALLEL_MIN_BYTES {
            let text = text();
            let indexed = index.build(types, types_pos, first_id);
            // String errors come first, as if the strings were checked before the types.
            let text = text?;
            indexed?;
            let mut btf = assemble(index, text);
            let facts = check::validate(&btf, types_pos)?;
            btf.set_facts(facts);
            return Ok(btf);
        }
        // Big blobs: a helper checks the strings while this thread indexes the records, then
        // both validate, a half each (see `check`). Each piece is claimed by the first thread
        // to reach it, so a helper that starts late costs little; results are the same
        // whichever thread ran what.
        let checked = OnceLock::new();
        let ready = OnceLock::new();
        let second = OnceLock::new();
        let first = crate::util::par::split(
            || {
                checked.get_or_init(text);
                if let Some(btf) = crate::util::par::wait_for(&ready) {
                    second.get_or_init(|| check::second_half(btf, types_pos));
                }
            },
            || {
                // Set on every way out (a panic too), so that the helper stops waiting.
                let ready = Publish(&ready);
                let indexed = index.build(types, types_pos, first_id);
                // String errors come first, as if the strings were checked before the types.
                let text = checked.get_or_init(text).clone()?;
                indexed?;
                let Some(btf) = ready.set(assemble(index, text)) else {
                    return Err(unpublished(types_pos));
                };
                let first = check::first_half(btf, types_pos);
                second.get_or_init(|| check::second_half(btf, types_pos));
                Ok(first)
            },
        )?;
        let Some(Some(mut btf)) = ready.into_inner() else {
            // Not reached: `first` is only made once the blob was published.
            return Err(unpublished(types_pos));
        };
        let second = second
            .into_inner()
            .unwrap_or_else(|| check::second_half(&btf, types_pos));
        let facts = check::merge(&btf, types_pos, first, second)?;
        btf.set_facts(facts);
        Ok(btf)
    }

    /// The third header word of type `id` without reading its record: its size (INT,
    /// STRUCT, UNION, ENUM, ENUM64, FLOAT, DATASEC) or the type it refers to (PTR, TYPEDEF,
    /// modifiers, FUNC, FUNC_PROTO's return, VAR, tags). `None` when out of range.
    pub fn word_of(&self, id: u32) -> Option<u32> {
        if id == 0 {
            return Some(0);
        }
        match id.checked_sub(self.first_id) {
            Some(idx) => self.words.get(idx as usize).copied(),
            None => self.base.and_then(|b| b.word_of(id)),
        }
    }

    /// The kind of type `id` without reading its record, or `None` when out of range.
    pub fn kind_of(&self, id: u32) -> Option<Kind> {
        if id == 0 {
            return Some(Kind::Void);
        }
        match id.checked_sub(self.first_id) {
            Some(idx) => self.kinds.get(idx as usize).copied(),
            None => self.base.and_then(|b| b.kind_of(id)),
        }
    }

    /// Number of type ids, including void (id 0) and all base types.
    pub fn type_count(&self) -> u32 {
        self.first_id.saturating_add(to_u32(self.offsets.len()))
    }

    /// The first id defined by this blob (1, or the base's count for split BTF).
    pub fn first_id(&self) -> u32 {
        self.first_id
    }

    pub fn base(&self) -> Option<&'a Btf<'a>> {
        self.base
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The raw type and string sections, for consumers that need byte ranges.
    pub fn strings_len(&self) -> usize {
        self.strings.len()
    }

    /// The type with `id`, or `None` when out of range. Id 0 is void.
    pub fn ty(&self, id: u32) -> Option<Ty<'_>> {
        if id == 0 {
            return Some(Ty::void(self));
        }
        let Some(idx) = id.checked_sub(self.first_id) else {
            return self.base.and_then(|b| b.ty(id));
        };
        let off = *self.offsets.get(idx as usize)? as usize;
        // Records were bounds-checked at parse; the view reads through `vlen`.
        Some(Ty::new(id, self, self.types.get(off..)?))
    }

    /// Every id from 1 on, base types included.
    pub fn ids(&self) -> std::ops::Range<u32> {
        1..self.type_count()
    }

    /// The ids this blob defines itself (excludes the base of split BTF).
    pub fn local_ids(&self) -> std::ops::Range<u32> {
        self.first_id..self.type_count()
    }

    /// The string at `off`, resolving split BTF offsets into the base. Validated at parse time
    /// for every offset a type uses, so `None` only comes from callers' own offsets.
    pub fn str_at(&self, off: u32) -> Option<&str> {
        let Some(local) = off.checked_sub(self.str_base) else {
            return self.base.and_then(|b| b.str_at(off));
        };
        let rest = self.strings.get(local as usize..)?;
        // The section ends in NUL (checked at parse), so a terminator is always found.
        rest.get(..memchr::memchr(0, rest.as_bytes())?)
    }

    /// Whether `off` is a valid string offset, without scanning the string: the section is
    /// UTF-8 and NUL-terminated, so any in-range character boundary starts a valid string.
    pub fn is_valid_str(&self, off: u32) -> bool {
        let Some(local) = off.checked_sub(self.str_base) else {
            return self.base.is_some_and(|b| b.is_valid_str(off));
        };
        let local = local as usize;
        local < self.strings.len() && (self.ascii || self.strings.is_char_boundary(local))
    }

    /// Whether the string at `off` is non-empty, in O(1).
    pub fn is_nonempty_str(&self, off: u32) -> bool {
        let Some(local) = off.checked_sub(self.str_base) else {
            return self.base.is_some_and(|b| b.is_nonempty_str(off));
        };
        let local = local as usize;
        self.strings.as_bytes().get(local).is_some_and(|&b| b != 0)
    }

    /// Whether any type refers to `id` (as a member, parameter, element or index type, or
    /// the target of a pointer, modifier, typedef, function, variable or tag).
    pub fn is_referenced(&self, id: u32) -> bool {
        let word = self
            .referenced
            .get((id / 64) as usize)
            .copied()
            .unwrap_or(0);
        word >> (id % 64) & 1 != 0 || self.base.is_some_and(|b| b.is_referenced(id))
    }

    /// Ids of all types named `name` (any kind), in id order.
    pub fn find_by_name<'s>(&'s self, name: &'s str) -> impl Iterator<Item = u32> + 's {
        let index = self.by_name.get_or_init(|| {
            let mut ids: Vec<u32> = self
                .ids()
                .filter(|&id| !self.name_of(id).is_empty())
                .collect();
            ids.sort_by(|&a, &b| self.name_of(a).cmp(self.name_of(b)).then(a.cmp(&b)));
            ids
        });
        let start = index.partition_point(|&id| self.name_of(id) < name);
        index[start..]
            .iter()
            .copied()
            .take_while(move |&id| self.name_of(id) == name)
    }

    /// The first type named `name` with kind `kind`.
    pub fn find(&self, name: &str, kind: Kind) -> Option<Ty<'_>> {
        self.find_by_name(name)
            .filter_map(|id| self.ty(id))
            .find(|t| t.kind() == kind)
    }

    fn name_of(&self, id: u32) -> &str {
        self.ty(id).map(|t| t.name()).unwrap_or("")
    }

    /// Follows typedefs and cv/type-tag modifiers to the underlying type.
    pub fn skip_mods_and_typedefs(&self, id: u32) -> Option<Ty<'_>> {
        self.ty(self.resolve(id)?)
    }

    /// The id `skip_mods_and_typedefs` lands on, found without reading records.
    pub fn resolve(&self, mut id: u32) -> Option<u32> {
        // Validation rejected modifier loops, so this terminates; the bound is a second guard.
        for _ in 0..=self.type_count() {
            match self.kind_of(id)? {
                Kind::Typedef | Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag => {
                    id = self.word_of(id)?
                }
                _ => return Some(id),
            }
        }
        None
    }

    /// The byte size of a type, as the kernel computes it; `None` for sizeless kinds. At most
    /// `u32::MAX` (validation rejects larger types), computed once at parse.
    pub fn size_of(&self, id: u32) -> Option<u64> {
        self.size_u32(id).map(u64::from)
    }

    /// `size_of` as validation stored it.
    pub fn size_u32(&self, id: u32) -> Option<u32> {
        match id.checked_sub(self.first_id) {
            Some(idx) => self.sizes.get(idx as usize),
            None if id == 0 => None,
            None => self.base.and_then(|b| b.size_u32(id)),
        }
    }

    /// How deep type `id` nests: 1 for a type that refers to nothing, else one more than the
    /// deepest type it contains or names. Never above `MAX_NESTING`; 0 for ids out of range.
    pub fn nesting(&self, id: u32) -> u16 {
        match id.checked_sub(self.first_id) {
            Some(idx) => self.nesting.get(idx as usize).copied().unwrap_or(0),
            None if id == 0 => 1,
            None => self.base.map_or(0, |b| b.nesting(id)),
        }
    }
}

// Tests build blobs from small known values; the lint is for parsing untrusted bytes.
#[cfg(test)]
#[allow(clippy::cast_possible_truncation, clippy::arithmetic_side_effects)]
pub(crate) mod tests;

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)]
mod limits_tests;
