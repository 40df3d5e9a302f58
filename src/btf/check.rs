//! Up-front validation of a BTF blob: every string offset and type id a record holds is in
//! range, integers are well-formed, and no reference chain loops back on itself.
//!
//! The checks read the records directly (one linear walk, and two depth-first searches over
//! the raw bytes): on vmlinux they cover ~127k types and ~500k references, so going through
//! `Btf::ty` for each would dominate parsing. On big blobs the two halves below run on two
//! threads (see `Btf::parse`).

use super::wire::{u32_at, Kind, TYPE_HEADER_LEN};
use super::{to_u32, Btf, Error, MAX_NESTING};

/// What validation learns about every local type, kept by `Btf` for later stages.
pub(super) struct Facts {
    /// A bit per type id: whether some record refers to it (see `Btf::is_referenced`).
    pub referenced: Vec<u64>,
    /// Each local type's resolved byte size (`None` for sizeless kinds), at most `u32::MAX`.
    pub sizes: Sizes,
    /// Each local type's nesting depth (see `Btf::nesting`), at most `MAX_NESTING`.
    pub nesting: Vec<u16>,
}

// Validation comes in two halves that share nothing (the searches cope with out-of-range
// ids), so big blobs run them on two threads. On vmlinux the two searches take about as long
// as each other, and the record walk about as long as either: each half is one search and
// the records on one side of the middle byte. Problems are reported as if everything had run
// one after the other: records in file order, then the Strong graph, then the Naming one.

/// The first half of the validation: the first half of the records and the Naming search.
pub(super) struct First(Result<Vec<u64>, Error>, Result<Found, Problem>);

/// The second half: the Strong search and the other records.
pub(super) struct Second(Result<Found, Problem>, Result<Vec<u64>, Error>);

/// Where the halves split the records: at the middle byte, as walking a record costs about
/// its length (vmlinux's first half by count holds more of the long ones).
fn middle(btf: &Btf<'_>) -> usize {
    let at = btf.types.len() / 2;
    btf.offsets
        .partition_point(|&o| usize::try_from(o).is_ok_and(|o| o < at))
}

pub(super) fn first_half(btf: &Btf<'_>, types_pos: usize) -> First {
    let half = middle(btf);
    First(check_records(btf, types_pos, 0..half), search::<false>(btf))
}

pub(super) fn second_half(btf: &Btf<'_>, types_pos: usize) -> Second {
    let (half, n) = (middle(btf), btf.offsets.len());
    Second(search::<true>(btf), check_records(btf, types_pos, half..n))
}

/// Validates `btf` on this thread: records, reference loops, sizes and nesting depth.
pub(super) fn validate(btf: &Btf<'_>, types_pos: usize) -> Result<Facts, Error> {
    merge(
        btf,
        types_pos,
        first_half(btf, types_pos),
        second_half(btf, types_pos),
    )
}

/// The verdict of both halves, and what they learnt.
pub(super) fn merge(
    btf: &Btf<'_>,
    types_pos: usize,
    First(low, naming): First,
    Second(strong, high): Second,
) -> Result<Facts, Error> {
    let mut referenced = low?;
    for (r, h) in referenced.iter_mut().zip(high?) {
        *r |= h;
    }
    let strong = strong.map_err(|p| p.at(btf, types_pos, Graph::Strong))?;
    let naming = naming.map_err(|p| p.at(btf, types_pos, Graph::Naming))?;
    // A type's nesting is its depth in whichever graph it is deeper in.
    let mut nesting = strong.depth;
    for (n, &d) in nesting.iter_mut().zip(&naming.depth) {
        *n = (*n).max(d);
    }
    Ok(Facts {
        referenced,
        sizes: strong.sizes,
        nesting,
    })
}

/// The `vlen` entries of `stride` bytes that follow a record's header.
// vlen is at most 0xffff and stride at most 12.
#[allow(clippy::arithmetic_side_effects)]
fn entries(rec: &[u8], vlen: usize, stride: usize) -> std::slice::ChunksExact<'_, u8> {
    let tail = rec.get(TYPE_HEADER_LEN..TYPE_HEADER_LEN + vlen * stride);
    tail.unwrap_or_default().chunks_exact(stride)
}

/// Checks each record in `range` (local indexes) on its own: string offsets, type ids in
/// range, INT encodings, and that a FUNC points to a FUNC_PROTO. Reports the first problem
/// in file order; without one, returns a bit per type id telling whether one of these
/// records refers to it.
// Positions are record offsets within the type section (below 2^32) plus a few words, ids are below the type count.
#[allow(clippy::arithmetic_side_effects)]
fn check_records(
    btf: &Btf<'_>,
    types_pos: usize,
    range: std::ops::Range<usize>,
) -> Result<Vec<u64>, Error> {
    let count = btf.type_count();
    let mut referenced = vec![0u64; (count as usize).div_ceil(64)];
    let name = |id: u32, name_off: u32, at: usize| -> Result<(), Error> {
        match btf.is_valid_str(name_off) {
            true => Ok(()),
            false => Err(Error::at(
                at,
                format!("type [{id}]: bad string offset {name_off}"),
            )),
        }
    };
    let mut ty_ref = |id: u32, tid: u32, at: usize| -> Result<(), Error> {
        match tid < count {
            true => {
                if let Some(w) = referenced.get_mut((tid / 64) as usize) {
                    *w |= 1 << (tid % 64);
                }
                Ok(())
            }
            false => Err(Error::at(
                at,
                format!("type [{id}] refers to type id {tid}, but there are only {count}"),
            )),
        }
    };
    let records = btf.offsets.get(range.clone()).unwrap_or_default();
    let kinds = btf.kinds.get(range.clone()).unwrap_or_default();
    for (i, (&off, &kind)) in (range.start..).zip(records.iter().zip(kinds)) {
        let id = btf.first_id + super::to_u32(i);
        let pos = types_pos + off as usize;
        let rec = record(btf, off);
        let info = u32_at(rec, 4);
        let vlen = (info & 0xffff) as usize;
        let word2 = u32_at(rec, 8);
        let tail = pos + TYPE_HEADER_LEN;
        name(id, u32_at(rec, 0), pos)?;
        if kind.has_type_ref() {
            ty_ref(id, word2, pos + 8)?;
        }
        match kind {
            Kind::Int => {
                let (size, v) = (word2, u32_at(rec, TYPE_HEADER_LEN));
                let (bits, offset) = (v & 0xff, (v >> 16) & 0xff);
                if !matches!(size, 1 | 2 | 4 | 8 | 16) || bits + offset > size * 8 {
                    return Err(Error::at(
                        pos,
                        format!("type [{id}]: bad INT size {size} / bits {bits}"),
                    ));
                }
            }
            Kind::Array => {
                ty_ref(id, u32_at(rec, TYPE_HEADER_LEN), tail)?;
                ty_ref(id, u32_at(rec, TYPE_HEADER_LEN + 4), tail + 4)?;
            }
            Kind::Struct | Kind::Union => {
                for (j, e) in entries(rec, vlen, 12).enumerate() {
                    let at = tail + j * 12;
                    name(id, u32_at(e, 0), at)?;
                    ty_ref(id, u32_at(e, 4), at + 4)?;
                    // As the kernel requires; emitters then never pad past the record.
                    let off = u32_at(e, 8);
                    let (bit_offset, bits) = match info >> 31 {
                        0 => (off, 0),
                        _ => (off & 0x00ff_ffff, off >> 24),
                    };
                    if u64::from(bit_offset) + u64::from(bits) > u64::from(word2) * 8 {
                        return Err(Error::at(
                            at + 8,
                            format!(
                                "type [{id}]: member {j} at bit {bit_offset} lies outside the \
                                 {word2}-byte {}",
                                kind.raw_name()
                            ),
                        ));
                    }
                }
            }
            Kind::Enum | Kind::Enum64 => {
                let stride = if kind == Kind::Enum { 8 } else { 12 };
                for (j, e) in entries(rec, vlen, stride).enumerate() {
                    name(id, u32_at(e, 0), tail + j * stride)?;
                }
            }
            Kind::FuncProto => {
                for (j, e) in entries(rec, vlen, 8).enumerate() {
                    let at = tail + j * 8;
                    name(id, u32_at(e, 0), at)?;
                    ty_ref(id, u32_at(e, 4), at + 4)?;
                }
            }
            Kind::Func if btf.kind_of(word2) != Some(Kind::FuncProto) => {
                return Err(Error::at(
                    pos + 8,
                    format!("FUNC [{id}] does not point to a FUNC_PROTO"),
                ));
            }
            Kind::Datasec => {
                for (j, e) in entries(rec, vlen, 12).enumerate() {
                    ty_ref(id, u32_at(e, 0), tail + j * 12)?;
                }
            }
            _ => {}
        }
    }
    Ok(referenced)
}

/// The record at `off` in the type section (offsets come from `index_types`).
fn record<'a>(btf: &Btf<'a>, off: u32) -> &'a [u8] {
    btf.types.get(off as usize..).unwrap_or_default()
}

/// The two reference graphs a loop is rejected in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Graph {
    /// Edges a type's own definition depends on by value (size or name resolution).
    Strong,
    /// Edges that printing a type's name follows: everything but named composite bodies
    /// (anonymous ones are printed in place, so their members are edges too).
    Naming,
}

impl Graph {
    /// Whether a type of `kind` has no out-edges, so it can never be part of a loop.
    /// `anon` says whether the type has no name (read only for composites).
    #[inline(always)]
    fn is_leaf(self, kind: Kind, anon: impl FnOnce() -> bool) -> bool {
        use Kind::*;
        match self {
            Graph::Strong => !matches!(
                kind,
                Typedef
                    | Const
                    | Volatile
                    | Restrict
                    | TypeTag
                    | Var
                    | DeclTag
                    | Array
                    | Struct
                    | Union
            ),
            Graph::Naming => match kind {
                Struct | Union => !anon(),
                _ => matches!(kind, Void | Int | Float | Datasec | Enum | Enum64 | Fwd),
            },
        }
    }

    /// Calls `f` on each out-edge of local type `idx` (of `kind`), in record order.
    #[inline(always)]
    fn edges(self, btf: &Btf<'_>, idx: usize, kind: Kind, mut f: impl FnMut(u32)) {
        let rec = || record(btf, btf.offsets[idx]);
        match kind {
            Kind::Array => f(u32_at(rec(), TYPE_HEADER_LEN)),
            Kind::Struct | Kind::Union => {
                let rec = rec();
                let vlen = (u32_at(rec, 4) & 0xffff) as usize;
                entries(rec, vlen, 12).for_each(|e| f(u32_at(e, 4)))
            }
            Kind::FuncProto => {
                let rec = rec();
                let vlen = (u32_at(rec, 4) & 0xffff) as usize;
                f(u32_at(rec, 8));
                entries(rec, vlen, 8).for_each(|e| f(u32_at(e, 4)));
            }
            // Everything else that is not a leaf has one edge, its type id: the record's third
            // word, kept by the index.
            _ => f(btf.words[idx]),
        }
    }

    fn what(self) -> &'static str {
        match self {
            Graph::Strong => "contains itself",
            Graph::Naming => "refers to itself through a loop of pointers/modifiers",
        }
    }
}

/// The byte size of a type of `kind` whose size needs no other type, `None` when it has no
/// size of its own (references, arrays, sizeless kinds).
fn own_size(kind: Kind, word: u32) -> Option<u32> {
    use Kind::*;
    match kind {
        Int | Struct | Union | Enum | Enum64 | Float | Datasec => Some(word),
        Ptr => Some(8),
        _ => None,
    }
}

/// Each local type's byte size, if it has one: a `u32` and a bit, half the memory of an
/// `Option<u32>` (on vmlinux, ~125 fewer pages to fault in during validation).
#[derive(Default)]
pub(super) struct Sizes {
    size: Vec<u32>,
    known: Vec<u64>,
}

impl Sizes {
    /// The sizes of the kinds whose record gives them; the others are unknown for now.
    fn of(btf: &Btf<'_>) -> Sizes {
        let n = btf.kinds.len();
        let mut sizes = Sizes {
            size: vec![0; n],
            known: vec![0; n.div_ceil(64)],
        };
        for (i, (&k, &w)) in btf.kinds.iter().zip(&btf.words).enumerate() {
            sizes.set(i, own_size(k, w));
        }
        sizes
    }

    /// The size of local type `i`; `None` for sizeless kinds and indexes out of range.
    pub(super) fn get(&self, i: usize) -> Option<u32> {
        let known = self
            .known
            .get(i / 64)
            .is_some_and(|w| w >> (i % 64) & 1 == 1);
        self.size.get(i).copied().filter(|_| known)
    }

    fn set(&mut self, i: usize, size: Option<u32>) {
        if let (Some(s), Some(w)) = (self.size.get_mut(i), self.known.get_mut(i / 64)) {
            *s = size.unwrap_or(0);
            *w = (*w & !(1 << (i % 64))) | (u64::from(size.is_some()) << (i % 64));
        }
    }
}

/// A type's mark in a search: not reached yet, on the current path, or done with depth
/// `mark - 1` (at least 1). One array for both, so that each edge costs one read.
const UNVISITED: u16 = 0;
const ON_PATH: u16 = 1;

/// The mark of a type done at `depth`.
fn done(depth: u16) -> u16 {
    depth.saturating_add(1)
}

/// What one graph's search learns about every local type.
struct Found {
    /// The type's depth in the graph: 1 for a leaf, else one more than its deepest child.
    depth: Vec<u16>,
    /// Resolved sizes (Strong graph only; empty for the Naming one).
    sizes: Sizes,
}

/// Rejects cycles in one graph (`STRONG`, or the Naming one) with an iterative DFS (no
/// recursion on hostile input), and computes each type's depth and, in the Strong graph,
/// its size on the way (children finish before parents). Roots are taken in id order and a
/// node's edges last-first, so the problem reported is always the same one for the same blob.
///
/// Ids out of range are skipped here (the record check reports them), so this can run
/// before or alongside that check.
fn search<const STRONG: bool>(btf: &Btf<'_>) -> Result<Found, Problem> {
    let n = btf.kinds.len();
    let sizes = match STRONG {
        true => Sizes::of(btf),
        false => Sizes::default(),
    };
    let mut search = Search {
        btf,
        mark: Vec::with_capacity(n),
        frames: Vec::new(),
        pending: Vec::new(),
        sizes,
    };
    search.find::<STRONG>()?;
    // Every type is done now: its mark holds its depth.
    let mut depth = search.mark;
    depth.iter_mut().for_each(|m| *m = m.saturating_sub(1));
    Ok(Found {
        depth,
        sizes: search.sizes,
    })
}

/// Why a search stopped.
enum Problem {
    /// The edge from the first id to the second closes a loop.
    Loop(u32, u32),
    /// The type is nested deeper than `MAX_NESTING`.
    Deep(u32),
    /// The type's size exceeds `u32::MAX`.
    Huge(u32),
}

impl Problem {
    /// The error for this problem, found in `graph`, at the record of the type it names.
    // Record offsets and ids come from the index: in range.
    #[allow(clippy::arithmetic_side_effects)]
    fn at(self, btf: &Btf<'_>, types_pos: usize, graph: Graph) -> Error {
        let at = |id: u32| types_pos + btf.offsets[(id - btf.first_id) as usize] as usize;
        match self {
            Problem::Loop(id, next) => Error::at(
                at(id),
                format!("reference loop: type [{next}] {}", graph.what()),
            ),
            Problem::Deep(id) => Error::at(
                at(id),
                format!("type [{id}] is nested more than {MAX_NESTING} deep"),
            ),
            Problem::Huge(id) => Error::at(
                at(id),
                format!("type [{id}] is larger than {} bytes", u32::MAX),
            ),
        }
    }
}

struct Search<'b, 'a> {
    btf: &'b Btf<'a>,
    /// Per local type: UNVISITED, ON_PATH, or `done(depth)` once its depth is final (a leaf
    /// has depth 1, any other type one more than its deepest child).
    mark: Vec<u16>,
    /// Frames are (id, start, depth): a frame's pending edges are `pending[start..]`, and
    /// `depth` is its depth from the children done so far.
    frames: Vec<(u32, usize, u16)>,
    pending: Vec<u32>,
    /// Resolved sizes, filled by the Strong search.
    sizes: Sizes,
}

impl Search<'_, '_> {
    /// Searches the Strong graph (`STRONG`) or the Naming one.
    // Ids on the search are local ids (first_id..type_count): differences index the arrays.
    #[allow(clippy::arithmetic_side_effects)]
    fn find<const STRONG: bool>(&mut self) -> Result<(), Problem> {
        let graph = if STRONG { Graph::Strong } else { Graph::Naming };
        let first = self.btf.first_id;
        let btf = self.btf;
        // Leaves start out done: they cannot be on a loop. Base ids were checked with the base.
        self.mark
            .extend(btf.kinds.iter().zip(&btf.offsets).map(|(&k, &off)| {
                // As the emitters decide it (`Ty::is_named`): a name offset may point at an
                // empty string, and such a struct is written inline like an anonymous one.
                let anon = || !btf.is_nonempty_str(u32_at(record(btf, off), 0));
                if graph.is_leaf(k, anon) {
                    done(1)
                } else {
                    UNVISITED
                }
            }));
        for root in 0..self.mark.len() {
            if self.mark[root] != UNVISITED {
                continue;
            }
            let start = self.pending.len();
            let depth = self.push::<STRONG>(first + to_u32(root));
            if self.pending.len() == start {
                // Nothing left to explore below it (most roots): no frame needed.
                self.finish::<STRONG>(root, depth)?;
                continue;
            }
            self.mark[root] = ON_PATH;
            self.frames.push((first + to_u32(root), start, depth));
            while let Some(&(id, start, depth)) = self.frames.last() {
                if self.pending.len() == start {
                    self.frames.pop();
                    self.finish::<STRONG>((id - first) as usize, depth)?;
                    if let Some(parent) = self.frames.last_mut() {
                        parent.2 = parent.2.max(depth.saturating_add(1));
                    }
                    continue;
                }
                let Some(next) = self.pending.pop() else {
                    break;
                };
                let idx = (next - first) as usize;
                match self.mark[idx] {
                    UNVISITED => {
                        self.mark[idx] = ON_PATH;
                        let start = self.pending.len();
                        let depth = self.push::<STRONG>(next);
                        self.frames.push((next, start, depth));
                    }
                    ON_PATH => {
                        self.frames.clear();
                        self.pending.clear();
                        return Err(Problem::Loop(id, next));
                    }
                    // Finished through another path since it was pushed: its mark - 1 is its
                    // depth, so the mark is one more.
                    m => {
                        if let Some(f) = self.frames.last_mut() {
                            f.2 = f.2.max(m);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Marks local type `idx` done at `depth` once its children are: checks the depth and,
    /// in the Strong graph (where every type its size depends on is a child), computes its
    /// size.
    // `first_id + idx` is a local id; the array size is u32 times u32 in u64.
    #[allow(clippy::arithmetic_side_effects)]
    fn finish<const STRONG: bool>(&mut self, idx: usize, depth: u16) -> Result<(), Problem> {
        let id = self.btf.first_id + to_u32(idx);
        if u32::from(depth) > MAX_NESTING {
            self.frames.clear();
            self.pending.clear();
            return Err(Problem::Deep(id));
        }
        self.mark[idx] = done(depth);
        if STRONG {
            let size = match self.btf.kinds[idx] {
                Kind::Array => {
                    let rec = record(self.btf, self.btf.offsets[idx]);
                    let elem = self.size_of(u32_at(rec, TYPE_HEADER_LEN));
                    let nelems = u64::from(u32_at(rec, TYPE_HEADER_LEN + 8));
                    match elem.map(|e| u32::try_from(u64::from(e) * nelems)) {
                        Some(Err(_)) => {
                            self.frames.clear();
                            self.pending.clear();
                            return Err(Problem::Huge(id));
                        }
                        Some(Ok(s)) => Some(s),
                        None => None,
                    }
                }
                Kind::Typedef
                | Kind::Const
                | Kind::Volatile
                | Kind::Restrict
                | Kind::TypeTag
                | Kind::Var => self.size_of(self.btf.words[idx]),
                _ => self.sizes.get(idx),
            };
            self.sizes.set(idx, size);
        }
        Ok(())
    }

    /// The size of `id`, local (computed already, being a child) or from the base.
    fn size_of(&self, id: u32) -> Option<u32> {
        match id.checked_sub(self.btf.first_id) {
            Some(i) => self.sizes.get(i as usize),
            None => self.btf.base.and_then(|b| b.size_u32(id)),
        }
    }

    /// Pushes the edges of `id` that may still lead somewhere, and returns its depth from
    /// those that cannot (done nodes never change again; base nodes were done with the base).
    #[inline(always)]
    // `id` is a local id at or above first_id.
    #[allow(clippy::arithmetic_side_effects)]
    fn push<const STRONG: bool>(&mut self, id: u32) -> u16 {
        let graph = if STRONG { Graph::Strong } else { Graph::Naming };
        let btf = self.btf;
        let first = btf.first_id;
        let idx = (id - first) as usize;
        let (mark, pending) = (&self.mark, &mut self.pending);
        // One more than the deepest done child: the mark of a child done at depth d is d + 1.
        let mut depth = 1u16;
        graph.edges(btf, idx, btf.kinds[idx], |next| {
            let m = match next.checked_sub(first) {
                Some(i) => match mark.get(i as usize) {
                    Some(&m) if m > ON_PATH => m,
                    Some(_) => {
                        pending.push(next);
                        return;
                    }
                    None => return,
                },
                None => done(btf.base.map_or(1, |b| b.nesting(next))),
            };
            depth = depth.max(m);
        });
        depth
    }
}
