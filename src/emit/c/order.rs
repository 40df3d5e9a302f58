//! Emission order for `format c`: every type is defined before it is used by value, and
//! types reached only through pointers get forward declarations (the algorithm of libbpf's
//! btf_dump, with an explicit stack instead of recursion).
//!
//! Its walk mixes both graphs validation bounds (a named struct by value, then a pointer
//! to an anonymous struct holding the next named struct by value, ...), so its depth is not
//! bounded by `MAX_NESTING`: an explicit stack lets any validated BTF through.

use crate::btf::{Btf, Kind};

use super::Error;

const NOT_ORDERED: u8 = 0;
const ORDERING: u8 = 1;
const ORDERED: u8 = 2;

/// Type `.0` is part of a cycle that no forward declaration breaks; small so that the
/// walk's results travel in registers.
struct Cycle(u32);

/// A type being ordered: its children (the types it needs) are `pending[start..]`, the next
/// one last; `strong` gathers what the children ordered so far returned.
#[derive(Clone, Copy)]
struct Frame {
    id: u32,
    kind: Kind,
    through_ptr: bool,
    strong: bool,
    start: usize,
}

pub(super) struct Orderer<'b, 'a> {
    btf: &'b Btf<'a>,
    state: Vec<u8>,
    /// Emission order.
    queue: Vec<u32>,
    frames: Vec<Frame>,
    pending: Vec<u32>,
}

impl<'b, 'a> Orderer<'b, 'a> {
    pub(super) fn new(btf: &'b Btf<'a>) -> Self {
        Orderer {
            btf,
            state: vec![NOT_ORDERED; btf.type_count() as usize],
            queue: Vec::new(),
            frames: Vec::new(),
            pending: Vec::new(),
        }
    }

    /// Orders `roots` and everything they need.
    pub(super) fn order_all(&mut self, roots: impl IntoIterator<Item = u32>) -> Result<(), Error> {
        for id in roots {
            // Half of vmlinux is FUNC records; these kinds never need anything ordered, and
            // nothing that is ordered refers to them, so skipping them changes nothing.
            let kind = self.btf.kind_of(id);
            if !matches!(
                kind,
                Some(Kind::Func | Kind::Var | Kind::Datasec | Kind::DeclTag)
            ) && self.state.get(id as usize) != Some(&ORDERED)
            {
                self.order(id).map_err(|Cycle(id)| Error::Cycle(id))?;
            }
        }
        Ok(())
    }

    /// The emission order, and the per-type state buffer for reuse (one byte per type id).
    pub(super) fn into_queue(self) -> (Vec<u32>, Vec<u8>) {
        (self.queue, self.state)
    }

    /// Orders root `id` and everything it needs.
    fn order(&mut self, id: u32) -> Result<(), Cycle> {
        let mut ret = self.enter(id, false)?;
        // Runs the frames until the root's finishes.
        while let Some(f) = self.frames.last_mut() {
            // A child's result: a struct ignores its members', a prototype ORs them, the
            // rest have one child and pass its result on.
            if let Some(r) = ret.take() {
                match f.kind {
                    Kind::Struct | Kind::Union => {}
                    Kind::FuncProto => f.strong |= r,
                    _ => f.strong = r,
                }
            }
            let f = *f;
            if self.pending.len() > f.start {
                let child = self.pending.pop().unwrap_or(0);
                let through_ptr = match f.kind {
                    Kind::Ptr => true,
                    Kind::Array | Kind::Struct | Kind::Union => false,
                    _ => f.through_ptr,
                };
                ret = self.enter(child, through_ptr)?;
            } else {
                self.frames.pop();
                ret = Some(self.finish(f));
            }
        }
        Ok(())
    }

    /// Starts ordering `id`: returns whether the reference is "strong" (needs a full
    /// definition first) rather than satisfiable by a forward declaration when that is
    /// known at once, or `None` after pushing a frame for the types `id` needs first.
    /// Most references are to types already ordered: that case is the first test.
    #[inline]
    fn enter(&mut self, id: u32, through_ptr: bool) -> Result<Option<bool>, Cycle> {
        let idx = id as usize;
        let Some(&state) = self.state.get(idx) else {
            return Ok(Some(false));
        };
        if state == ORDERED {
            return Ok(Some(true));
        }
        // Kinds and referenced ids come from the dense arrays; only composite bodies,
        // arrays, prototypes and names need the record.
        let btf = self.btf;
        let Some(kind) = btf.kind_of(id) else {
            return Ok(Some(false));
        };
        let named = || btf.ty(id).is_some_and(|t| t.is_named());
        if state == ORDERING {
            if matches!(kind, Kind::Struct | Kind::Union) && through_ptr && named() {
                return Ok(Some(false));
            }
            return Err(Cycle(id));
        }
        let start = self.pending.len();
        // Children already ordered are not pushed: their result is known (strong), a
        // struct ignores it, and an ordered type stays ordered. Most children are such.
        let (state, pending) = (&self.state, &mut self.pending);
        let mut push = |child: u32| match state.get(child as usize) {
            Some(&ORDERED) => true,
            _ => {
                pending.push(child);
                false
            }
        };
        let mut strong = false;
        match kind {
            Kind::Void
            | Kind::Int
            | Kind::Float
            | Kind::Func
            | Kind::Var
            | Kind::Datasec
            | Kind::DeclTag => {
                self.state[idx] = ORDERED;
                return Ok(Some(false));
            }
            Kind::Enum | Kind::Enum64 | Kind::Fwd => {
                // An anonymous one that some type refers to is written where it is used.
                if named() || !btf.is_referenced(id) {
                    self.queue.push(id);
                }
                self.state[idx] = ORDERED;
                return Ok(Some(true));
            }
            Kind::Struct | Kind::Union => {
                if through_ptr && named() {
                    return Ok(Some(false));
                }
                if let Some(t) = btf.ty(id) {
                    for m in t.member_layout() {
                        push(m.type_id);
                    }
                }
                self.state[idx] = ORDERING;
            }
            Kind::Array => strong = push(btf.ty(id).and_then(|t| t.array()).map_or(0, |a| a.elem)),
            Kind::FuncProto => {
                strong = push(btf.word_of(id).unwrap_or(0));
                if let Some(t) = btf.ty(id) {
                    for p in t.param_types() {
                        strong |= push(p);
                    }
                }
            }
            Kind::Ptr
            | Kind::Typedef
            | Kind::Volatile
            | Kind::Const
            | Kind::Restrict
            | Kind::TypeTag => strong = push(btf.word_of(id).unwrap_or(0)),
        }
        let f = Frame {
            id,
            kind,
            through_ptr,
            strong,
            start,
        };
        if self.pending.len() == start {
            // Nothing left to order first: done without a frame.
            return Ok(Some(self.finish(f)));
        }
        // Children are taken from the end: first child last.
        self.pending[start..].reverse();
        self.frames.push(f);
        Ok(None)
    }

    /// Ends `f` once its children are ordered; returns whether the reference is strong.
    fn finish(&mut self, f: Frame) -> bool {
        let idx = f.id as usize;
        match f.kind {
            Kind::Ptr => {
                self.state[idx] = ORDERED;
                f.strong
            }
            Kind::Struct | Kind::Union => {
                if self.btf.ty(f.id).is_some_and(|t| t.is_named()) {
                    self.queue.push(f.id);
                }
                self.state[idx] = ORDERED;
                true
            }
            Kind::Typedef => {
                if f.through_ptr && !f.strong {
                    return false;
                }
                self.queue.push(f.id);
                self.state[idx] = ORDERED;
                true
            }
            _ => f.strong,
        }
    }
}
