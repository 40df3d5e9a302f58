//! Emission order for `format c`: every type is defined before it is used by value, and
//! types reached only through pointers get forward declarations (the algorithm of libbpf's
//! btf_dump, made iterative-safe with a depth bound for hostile input).

use crate::btf::{Btf, Kind};

use super::Error;

const NOT_ORDERED: u8 = 0;
const ORDERING: u8 = 1;
const ORDERED: u8 = 2;

/// Recursion deeper than this only comes from crafted BTF.
const MAX_DEPTH: u32 = 512;

/// Why ordering stopped; small so that `order`'s result travels in registers.
#[derive(Clone, Copy, Debug)]
enum Stop {
    TooDeep(u32),
    Cycle(u32),
}

impl From<Stop> for Error {
    fn from(s: Stop) -> Error {
        match s {
            Stop::TooDeep(id) => Error::TooDeep(id),
            Stop::Cycle(id) => Error::Cycle(id),
        }
    }
}

pub(super) struct Orderer<'b, 'a> {
    btf: &'b Btf<'a>,
    state: Vec<u8>,
    /// Emission order.
    queue: Vec<u32>,
}

impl<'b, 'a> Orderer<'b, 'a> {
    pub(super) fn new(btf: &'b Btf<'a>) -> Self {
        Orderer {
            btf,
            state: vec![NOT_ORDERED; btf.type_count() as usize],
            queue: Vec::new(),
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
            ) {
                self.order(id, false, 0)?;
            }
        }
        Ok(())
    }

    /// The emission order, and the per-type state buffer for reuse (one byte per type id).
    pub(super) fn into_queue(self) -> (Vec<u32>, Vec<u8>) {
        (self.queue, self.state)
    }

    /// Orders `id` and everything it needs; returns whether the reference is "strong"
    /// (needs a full definition first) rather than satisfiable by a forward declaration.
    /// Most references are to types already ordered: that case costs no call.
    #[inline]
    fn order(&mut self, id: u32, through_ptr: bool, depth: u32) -> Result<bool, Stop> {
        if depth <= MAX_DEPTH && self.state.get(id as usize) == Some(&ORDERED) {
            return Ok(true);
        }
        self.order_new(id, through_ptr, depth)
    }

    #[inline(never)]
    fn order_new(&mut self, id: u32, through_ptr: bool, depth: u32) -> Result<bool, Stop> {
        if depth > MAX_DEPTH {
            return Err(Stop::TooDeep(id));
        }
        let idx = id as usize;
        let Some(&state) = self.state.get(idx) else {
            return Ok(false);
        };
        if state == ORDERED {
            return Ok(true);
        }
        // Kinds and referenced ids come from the dense arrays; only composite bodies,
        // arrays, prototypes and names need the record.
        let btf = self.btf;
        let Some(kind) = btf.kind_of(id) else {
            return Ok(false);
        };
        let word = || btf.word_of(id).unwrap_or(0);
        let named = || btf.ty(id).is_some_and(|t| t.is_named());
        if state == ORDERING {
            if matches!(kind, Kind::Struct | Kind::Union) && through_ptr && named() {
                return Ok(false);
            }
            return Err(Stop::Cycle(id));
        }
        let d = depth + 1;
        match kind {
            Kind::Void | Kind::Int | Kind::Float => {
                self.state[idx] = ORDERED;
                Ok(false)
            }
            Kind::Ptr => {
                let r = self.order(word(), true, d)?;
                self.state[idx] = ORDERED;
                Ok(r)
            }
            Kind::Array => {
                let elem = btf.ty(id).and_then(|t| t.array()).map_or(0, |a| a.elem);
                self.order(elem, false, d)
            }
            Kind::Struct | Kind::Union => {
                let named = named();
                if through_ptr && named {
                    return Ok(false);
                }
                self.state[idx] = ORDERING;
                if let Some(t) = btf.ty(id) {
                    for m in t.member_layout() {
                        self.order(m.type_id, false, d)?;
                    }
                }
                if named {
                    self.queue.push(id);
                }
                self.state[idx] = ORDERED;
                Ok(true)
            }
            Kind::Enum | Kind::Enum64 | Kind::Fwd => {
                // An anonymous one that some type refers to is written where it is used.
                if named() || !btf.is_referenced(id) {
                    self.queue.push(id);
                }
                self.state[idx] = ORDERED;
                Ok(true)
            }
            Kind::Typedef => {
                let strong = self.order(word(), through_ptr, d)?;
                if through_ptr && !strong {
                    return Ok(false);
                }
                self.queue.push(id);
                self.state[idx] = ORDERED;
                Ok(true)
            }
            Kind::Volatile | Kind::Const | Kind::Restrict | Kind::TypeTag => {
                self.order(word(), through_ptr, d)
            }
            Kind::FuncProto => {
                let mut strong = self.order(word(), through_ptr, d)?;
                if let Some(t) = btf.ty(id) {
                    for p in t.param_types() {
                        strong |= self.order(p, through_ptr, d)?;
                    }
                }
                Ok(strong)
            }
            Kind::Func | Kind::Var | Kind::Datasec | Kind::DeclTag => {
                self.state[idx] = ORDERED;
                Ok(false)
            }
        }
    }
}
