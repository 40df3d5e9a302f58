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

pub(super) struct Orderer<'b, 'a> {
    btf: &'b Btf<'a>,
    state: Vec<u8>,
    /// Types some other type refers to; unreferenced anonymous enums are emitted top-level.
    referenced: Vec<bool>,
    pub queue: Vec<u32>,
}

impl<'b, 'a> Orderer<'b, 'a> {
    pub(super) fn new(btf: &'b Btf<'a>) -> Self {
        let n = btf.type_count() as usize;
        let mut referenced = vec![false; n];
        let mut mark = |id: u32| {
            if let Some(r) = referenced.get_mut(id as usize) {
                *r = true;
            }
        };
        for id in btf.ids() {
            let Some(t) = btf.ty(id) else { continue };
            if t.kind().has_type_ref() {
                mark(t.type_id());
            }
            match t.kind() {
                Kind::Array => {
                    if let Some(a) = t.array() {
                        mark(a.elem);
                        mark(a.index);
                    }
                }
                Kind::Struct | Kind::Union => t.member_layout().for_each(|m| mark(m.type_id)),
                Kind::FuncProto => t.param_types().for_each(&mut mark),
                Kind::Datasec => t.datasec_vars().for_each(|v| mark(v.type_id)),
                _ => {}
            }
        }
        Orderer {
            btf,
            state: vec![NOT_ORDERED; n],
            referenced,
            queue: Vec::new(),
        }
    }

    /// Orders `id` and everything it needs; returns whether the reference is "strong"
    /// (needs a full definition first) rather than satisfiable by a forward declaration.
    pub(super) fn order(&mut self, id: u32, through_ptr: bool, depth: u32) -> Result<bool, Error> {
        if depth > MAX_DEPTH {
            return Err(Error::TooDeep(id));
        }
        let idx = id as usize;
        if self.state[idx] == ORDERED {
            return Ok(true);
        }
        let Some(t) = self.btf.ty(id) else {
            return Ok(false);
        };
        let named = t.is_named();
        if self.state[idx] == ORDERING {
            if matches!(t.kind(), Kind::Struct | Kind::Union) && through_ptr && named {
                return Ok(false);
            }
            return Err(Error::Cycle(id));
        }
        let d = depth + 1;
        match t.kind() {
            Kind::Void | Kind::Int | Kind::Float => {
                self.state[idx] = ORDERED;
                Ok(false)
            }
            Kind::Ptr => {
                let r = self.order(t.type_id(), true, d)?;
                self.state[idx] = ORDERED;
                Ok(r)
            }
            Kind::Array => {
                let elem = t.array().map_or(0, |a| a.elem);
                self.order(elem, false, d)
            }
            Kind::Struct | Kind::Union => {
                if through_ptr && named {
                    return Ok(false);
                }
                self.state[idx] = ORDERING;
                for m in t.member_layout() {
                    self.order(m.type_id, false, d)?;
                }
                if named {
                    self.queue.push(id);
                }
                self.state[idx] = ORDERED;
                Ok(true)
            }
            Kind::Enum | Kind::Enum64 | Kind::Fwd => {
                if named || !self.referenced[idx] {
                    self.queue.push(id);
                }
                self.state[idx] = ORDERED;
                Ok(true)
            }
            Kind::Typedef => {
                let strong = self.order(t.type_id(), through_ptr, d)?;
                if through_ptr && !strong {
                    return Ok(false);
                }
                self.queue.push(id);
                self.state[idx] = ORDERED;
                Ok(true)
            }
            Kind::Volatile | Kind::Const | Kind::Restrict | Kind::TypeTag => {
                self.order(t.type_id(), through_ptr, d)
            }
            Kind::FuncProto => {
                let mut strong = self.order(t.type_id(), through_ptr, d)?;
                for p in t.param_types() {
                    strong |= self.order(p, through_ptr, d)?;
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
