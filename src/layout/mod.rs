//! The Wasm layout engine: records computed from BTF member offsets and sizes, never from C
//! layout rules, so that a wasm32 (ILP32) guest sees structs byte for byte as BPF (LP64) does.
//!
//! `Layout::build` picks root types, names everything once (`names.rs`), turns each type into
//! an item of this IR (`record.rs`) and orders the items so that every type a definition
//! contains by value comes first. Pointers become 64-bit integers, so they need nothing
//! defined and break every cycle. `emit::wasm` prints the result.

mod names;
mod record;

use std::borrow::Cow;

use crate::btf::{Btf, Kind};
pub use names::is_cxx_keyword;
use names::Names;
pub use record::inline_of;

/// Why a type cannot be laid out, with a breadcrumb down to the member at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("no struct, union, enum or typedef named '{0}'")]
    NoSuchType(String),
    #[error("{what}: {msg}")]
    Layout { what: String, msg: String },
}

/// Which types to lay out (their dependencies always come along).
#[derive(Clone, Copy, Debug)]
pub enum Selection<'s> {
    /// Every named struct/union and every typedef of an anonymous one.
    All,
    /// Types by name; `struct foo`, `union foo`, `enum foo` pick one kind.
    Types(&'s [String]),
}

/// Items in dependency order: each one only uses types defined before it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Layout<'a> {
    pub items: Vec<Item<'a>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item<'a> {
    Record(Record<'a>),
    /// An enum's constants; fields of enum type use a fixed-width integer instead.
    Enum(EnumDef<'a>),
    Typedef(Typedef<'a>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    Struct,
    Union,
}

impl RecordKind {
    /// A STRUCT/UNION by its kind, a FWD by its kind flag.
    pub fn of_union(is_union: bool) -> RecordKind {
        if is_union {
            RecordKind::Union
        } else {
            RecordKind::Struct
        }
    }

    pub fn keyword(self) -> &'static str {
        match self {
            RecordKind::Struct => "struct",
            RecordKind::Union => "union",
        }
    }
}

/// A struct or union with every byte accounted for: members at their BTF offsets, explicit
/// padding in every hole, tail padding up to the BTF size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    /// The decided tag; `None` for an anonymous record defined inline.
    pub name: Option<Cow<'a, str>>,
    pub kind: RecordKind,
    pub size: u32,
    pub fields: Vec<Field<'a>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field<'a> {
    /// A byte-aligned member. `name` is `None` for an anonymous inline struct/union.
    Member {
        name: Option<&'a str>,
        ty: FieldType<'a>,
        /// Byte offset within the enclosing record.
        offset: u32,
        size: u32,
    },
    /// A bitfield; `name` is `None` for unnamed padding bits.
    Bitfield {
        name: Option<&'a str>,
        ty: Scalar<'a>,
        /// Bit offset within the enclosing record.
        bit_offset: u32,
        bits: u32,
    },
    /// `char name[len];` filling a hole the BTF offsets leave.
    Pad {
        name: Cow<'a, str>,
        offset: u32,
        len: u32,
    },
}

/// A member's type as the Wasm header spells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldType<'a> {
    Scalar(Scalar<'a>),
    /// Any pointer, function pointers included: `uint64_t /* pointer */`.
    Pointer,
    /// An enum-typed field: a fixed-width integer of the enum's BTF size.
    Enum {
        repr: Scalar<'a>,
        name: Option<Cow<'a, str>>,
    },
    /// A struct/union defined elsewhere, by tag.
    Named {
        kind: RecordKind,
        name: Cow<'a, str>,
    },
    Typedef(Cow<'a, str>),
    Array {
        elem: Box<FieldType<'a>>,
        len: u32,
    },
    /// An anonymous struct/union, defined in place.
    Inline(Box<Record<'a>>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scalar<'a> {
    /// A C integer type whose size is the same on every target (`int`, `unsigned char`,
    /// `long long unsigned int`, ...), spelled as BTF names it.
    Int {
        name: &'a str,
        bytes: u8,
    },
    /// `intN_t`/`uintN_t`, for `long` and anything else whose width varies.
    Fixed {
        bytes: u8,
        signed: bool,
    },
    Bool,
    Int128 {
        signed: bool,
    },
    /// `float` (4), `double` (8), else an opaque type of that many bytes.
    Float(u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumDef<'a> {
    pub name: Option<Cow<'a, str>>,
    pub size: u32,
    pub values: Vec<(Cow<'a, str>, i128)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Typedef<'a> {
    pub name: Cow<'a, str>,
    pub ty: FieldType<'a>,
    /// `None` when the target is incomplete (a typedef of a forward-declared struct).
    pub size: Option<u32>,
}

/// A struct that BTF does not have: a data section's variables, given as (VAR id, byte
/// offset) with the offsets from the ELF symbol table, in offset order, padded to `size`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Synthetic {
    pub name: String,
    pub size: u32,
    pub vars: Vec<(u32, u32)>,
}

type Frame<'a> = (u32, Option<Item<'a>>, Vec<u32>);

/// DFS states per type id.
const NEW: u8 = 0;
const OPEN: u8 = 1;
const DONE: u8 = 2;

impl<'a> Layout<'a> {
    pub fn build(btf: &'a Btf<'_>, selection: Selection<'_>) -> Result<Layout<'a>, Error> {
        let names = Names::decide(btf);
        let roots = roots(btf, &names, selection)?;
        Self::close(btf, &names, roots)
    }

    /// Lays out records that BTF does not have (a skeleton's data sections), after every
    /// type they use by value, which they name with the same decided names.
    pub fn build_synthetic(btf: &'a Btf<'_>, records: &[Synthetic]) -> Result<Layout<'a>, Error> {
        let names = Names::decide(btf);
        let mut deps = Vec::new();
        let mut recs = Vec::with_capacity(records.len());
        for r in records {
            recs.push(record::synthetic(btf, &names, r, &mut deps)?);
        }
        let mut layout = Self::close(btf, &names, deps)?;
        layout.items.extend(recs.into_iter().map(Item::Record));
        Ok(layout)
    }

    /// The items for `roots` and everything they use by value, in dependency order.
    fn close(btf: &'a Btf<'_>, names: &Names<'a>, roots: Vec<u32>) -> Result<Layout<'a>, Error> {
        let mut state = vec![NEW; btf.type_count() as usize];
        let mut items = Vec::new();
        // Iterative DFS (hostile BTF may nest deeply). A frame holds an id, the item built for
        // it and its dependencies still to visit; the item is pushed once they are all done.
        let mut stack: Vec<Frame<'a>> = Vec::new();
        let open = |id: u32, stack: &mut Vec<Frame<'a>>| {
            let mut deps = Vec::new();
            let item = record::build_item(btf, names, id, &mut deps)?;
            deps.reverse();
            stack.push((id, item, deps));
            Ok::<(), Error>(())
        };
        for root in roots {
            if state[root as usize] != NEW {
                continue;
            }
            state[root as usize] = OPEN;
            open(root, &mut stack)?;
            while let Some((_, _, deps)) = stack.last_mut() {
                let Some(dep) = deps.pop() else {
                    if let Some((id, item, _)) = stack.pop() {
                        state[id as usize] = DONE;
                        items.extend(item);
                    }
                    continue;
                };
                match state[dep as usize] {
                    NEW => {
                        state[dep as usize] = OPEN;
                        open(dep, &mut stack)?;
                    }
                    OPEN => {
                        return Err(Error::Layout {
                            what: describe(btf, names, dep),
                            msg: "contains itself".into(),
                        })
                    }
                    _ => {}
                }
            }
        }
        Ok(Layout { items })
    }
}

/// The root type ids of a selection, in a deterministic order.
fn roots(btf: &Btf<'_>, names: &Names<'_>, selection: Selection<'_>) -> Result<Vec<u32>, Error> {
    match selection {
        Selection::All => Ok(btf
            .local_ids()
            .filter(|&id| {
                let Some(t) = btf.ty(id) else { return false };
                match t.kind() {
                    Kind::Struct | Kind::Union => !t.name().is_empty(),
                    Kind::Typedef if !names.is_provided(id) => {
                        btf.skip_mods_and_typedefs(t.type_id()).is_some_and(|u| {
                            matches!(u.kind(), Kind::Struct | Kind::Union) && u.name().is_empty()
                        })
                    }
                    _ => false,
                }
            })
            .collect()),
        Selection::Types(list) => {
            let mut out = Vec::new();
            for spec in list {
                let (kinds, name): (&[Kind], &str) = match spec.split_once(' ') {
                    Some(("struct", n)) => (&[Kind::Struct], n.trim()),
                    Some(("union", n)) => (&[Kind::Union], n.trim()),
                    Some(("enum", n)) => (&[Kind::Enum, Kind::Enum64], n.trim()),
                    _ => (
                        &[
                            Kind::Struct,
                            Kind::Union,
                            Kind::Enum,
                            Kind::Enum64,
                            Kind::Typedef,
                        ],
                        spec.as_str(),
                    ),
                };
                let before = out.len();
                out.extend(btf.find_by_name(name).filter(|&id| {
                    btf.ty(id).is_some_and(|t| kinds.contains(&t.kind())) && !names.is_provided(id)
                }));
                if out.len() == before {
                    return Err(Error::NoSuchType(spec.clone()));
                }
            }
            Ok(out)
        }
    }
}

/// `struct foo`, `typedef bar`, `[123]`: how errors name a type.
pub(crate) fn describe(btf: &Btf<'_>, names: &Names<'_>, id: u32) -> String {
    let Some(t) = btf.ty(id) else {
        return format!("type [{id}]");
    };
    let kw = match t.kind() {
        Kind::Struct => "struct",
        Kind::Union => "union",
        Kind::Enum | Kind::Enum64 => "enum",
        Kind::Typedef => "typedef",
        Kind::Fwd => "forward-declared",
        k => k.raw_name(),
    };
    if t.name().is_empty() {
        format!("anonymous {kw} [{id}]")
    } else {
        format!("{kw} {}", names.type_name(id))
    }
}

#[cfg(test)]
mod tests;
