//! What the header says, in order: walks the ordered types as libbpf's btf_dump does and
//! lists each forward declaration, typedef and definition once. Rendering an item depends
//! only on the item, so the list can be rendered in parts.

use crate::btf::{Btf, Kind};

/// One top-level piece of the header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Item {
    /// `struct name;` (or `union`).
    Fwd(u32),
    /// `typedef <decl>;`
    Typedef(u32),
    /// `enum name { ... };`
    Enum(u32),
    /// `struct name { ... };` (or `union`).
    Composite(u32),
}

/// Per-type flags while scheduling.
const EMITTING: u8 = 1;
const EMITTED: u8 = 2;
/// A forward declaration (or early typedef) has been listed.
const FWD_LISTED: u8 = 4;

/// How deep `visit` goes: from a top-level item, one step into a named struct's members,
/// then only naming steps (pointers, modifiers, arrays, typedefs, prototypes, anonymous
/// bodies: a named struct inside is a leaf), so validation's `MAX_NESTING` bounds it.
const MAX_DEPTH: u32 = crate::btf::MAX_NESTING;

struct Scheduler<'b, 'a, F> {
    btf: &'b Btf<'a>,
    flags: Vec<u8>,
    /// Receives the items in header order.
    sink: F,
}

/// Lists the header's items for `queue`, the emission order from `order`, to `sink`.
/// `scratch` is reused for the per-type flags (fresh memory costs a page fault per page).
pub(super) fn schedule(btf: &Btf<'_>, queue: &[u32], mut scratch: Vec<u8>, sink: impl FnMut(Item)) {
    scratch.clear();
    scratch.resize(btf.type_count() as usize, 0);
    let mut s = Scheduler {
        btf,
        flags: scratch,
        sink,
    };
    for &id in queue {
        s.visit(id, None, 0);
    }
}

impl<F: FnMut(Item)> Scheduler<'_, '_, F> {
    /// Lists what `id` needs at top level; `cont` is the named type whose definition is in
    /// progress (`None` at top level).
    fn visit(&mut self, id: u32, cont: Option<u32>, depth: u32) {
        let idx = id as usize;
        let Some(&flags) = self.flags.get(idx) else {
            return;
        };
        debug_assert!(depth <= MAX_DEPTH, "validation bounds the schedule walk");
        if depth > MAX_DEPTH || flags & EMITTED != 0 {
            return;
        }
        // Kinds and referenced ids come from the dense arrays; only composite bodies,
        // arrays, prototypes and names need the record.
        let btf = self.btf;
        let Some(kind) = btf.kind_of(id) else { return };
        let word = || btf.word_of(id).unwrap_or(0);
        let named = || btf.ty(id).is_some_and(|t| t.is_named());
        let top = cont.is_none();
        let d = depth + 1;
        if flags & EMITTING != 0 {
            if flags & FWD_LISTED != 0 {
                return;
            }
            match kind {
                Kind::Struct | Kind::Union if Some(id) != cont && named() => {
                    (self.sink)(Item::Fwd(id));
                    self.flags[idx] |= FWD_LISTED;
                }
                Kind::Typedef => {
                    (self.sink)(Item::Typedef(id));
                    self.flags[idx] |= FWD_LISTED;
                }
                _ => {}
            }
            return;
        }
        match kind {
            Kind::Enum | Kind::Enum64 => {
                if top {
                    (self.sink)(Item::Enum(id));
                }
                self.flags[idx] |= EMITTED;
            }
            Kind::Ptr | Kind::Volatile | Kind::Const | Kind::Restrict | Kind::TypeTag => {
                self.visit(word(), cont, d)
            }
            Kind::Array => {
                if let Some(a) = btf.ty(id).and_then(|t| t.array()) {
                    self.visit(a.elem, cont, d)
                }
            }
            Kind::Fwd => {
                (self.sink)(Item::Fwd(id));
                self.flags[idx] |= EMITTED;
            }
            Kind::Typedef => {
                self.flags[idx] |= EMITTING;
                self.visit(word(), Some(id), d);
                if self.flags[idx] & FWD_LISTED == 0 {
                    (self.sink)(Item::Typedef(id));
                }
                self.flags[idx] = (self.flags[idx] & !EMITTING) | EMITTED;
            }
            Kind::Struct | Kind::Union => {
                let Some(t) = btf.ty(id) else { return };
                let named = t.is_named();
                self.flags[idx] |= EMITTING;
                if top || !named {
                    let inner = if named { Some(id) } else { cont };
                    for m in t.member_layout() {
                        self.visit(m.type_id, inner, d);
                    }
                } else if self.flags[idx] & FWD_LISTED == 0 && Some(id) != cont {
                    (self.sink)(Item::Fwd(id));
                    self.flags[idx] |= FWD_LISTED;
                }
                self.flags[idx] &= !EMITTING;
                if top {
                    (self.sink)(Item::Composite(id));
                    self.flags[idx] |= EMITTED;
                }
            }
            Kind::FuncProto => {
                let Some(t) = btf.ty(id) else { return };
                self.visit(t.type_id(), cont, d);
                for p in t.param_types() {
                    self.visit(p, cont, d);
                }
            }
            _ => {}
        }
    }
}
