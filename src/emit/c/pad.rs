//! Layout planning for emitted C: given BTF member offsets, decide where explicit padding
//! goes and whether a struct must be `packed`, by simulating how a C compiler (LP64, the
//! BPF and x86-64 psABI rules) lays out exactly the text we will emit. Padding comes from
//! BTF offsets; the simulation only tells us what the compiler would do on its own.

use std::sync::atomic::{AtomicU8, Ordering};

use crate::btf::{Btf, Kind};

/// One explicit padding member: an unnamed bitfield of a given type and width, or, for
/// gaps too large to spell as bitfields, a named byte array at a given byte offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Pad {
    Bits { ty: &'static str, bits: u32 },
    Bytes { at: u64, len: u64 },
}

/// Gaps of at least this many bytes become one `char __pad_at_N[len]` instead of a line
/// per 8 bytes: a crafted multi-GiB struct must not turn into gigabytes of `long: 64;`.
const BYTE_ARRAY_GAP: u64 = 4096;

/// What goes before a member (or after the last one, for the tail).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Plan {
    pub packed: bool,
    /// `aligned(N)` for unions whose BTF size exceeds their natural size.
    pub aligned: Option<u32>,
    /// Alignment in bytes of the record as emitted (1 when packed).
    pub align: u32,
    /// `(member index, pads)`; index == member count means tail padding.
    pub pads: Vec<(usize, Vec<Pad>)>,
}

/// Fills `[cur, to)` (bits) with unnamed bitfields, each placed where the compiler keeps it:
/// first up to the next byte, then the widest naturally aligned unit that fits.
fn fill(mut cur: u64, to: u64, out: &mut Vec<Pad>) {
    if !cur.is_multiple_of(8) && cur < to {
        let k = (8 - cur % 8).min(to - cur);
        out.push(Pad::Bits {
            ty: "char",
            bits: k as u32,
        });
        cur += k;
    }
    let whole = (to - cur.min(to)) / 8;
    if whole >= BYTE_ARRAY_GAP {
        out.push(Pad::Bytes {
            at: cur / 8,
            len: whole,
        });
        cur += whole * 8;
    }
    while cur < to {
        let left = to - cur;
        let (ty, w) = [("long", 64), ("int", 32), ("short", 16), ("char", 8)]
            .into_iter()
            .find(|&(_, w)| cur.is_multiple_of(w) && left >= w)
            .unwrap_or(("char", left.min(8)));
        out.push(Pad::Bits { ty, bits: w as u32 });
        cur += w;
    }
}

fn align_up(v: u64, a: u64) -> u64 {
    v.div_ceil(a.max(1)) * a.max(1)
}

/// Record alignments, memoised so that parents see the alignment of the emitted child;
/// shared by the threads that render (a value is the same whoever computes it).
pub(super) struct Aligns(Vec<AtomicU8>);

impl Aligns {
    pub(super) fn new(btf: &Btf<'_>) -> Aligns {
        Aligns(
            std::iter::repeat_with(|| AtomicU8::new(0))
                .take(btf.type_count() as usize)
                .collect(),
        )
    }
}

/// Plans records. Plans themselves are not kept: a record is planned at most a few times
/// (for parents' alignment and for its own emission), which is cheaper than holding a plan
/// for every type id.
pub(super) struct Planner<'b, 'a> {
    btf: &'b Btf<'a>,
    align: &'b [AtomicU8],
}

/// Validation bounds by-value nesting by this, so the guard below never fires on parsed
/// BTF; it stays as a second line of defence (such records would be treated as packed).
const MAX_DEPTH: u32 = crate::btf::MAX_NESTING;

impl<'b, 'a> Planner<'b, 'a> {
    pub(super) fn new(btf: &'b Btf<'a>, aligns: &'b Aligns) -> Self {
        Planner {
            btf,
            align: &aligns.0,
        }
    }

    /// Alignment in bytes of a type as our emitted C declares it.
    pub(super) fn align_of(&mut self, mut id: u32, depth: u32) -> u32 {
        let btf = self.btf;
        // Arrays align as their element: followed in a loop, not by recursion.
        loop {
            let Some((rid, kind)) = btf.resolve(id).and_then(|id| Some((id, btf.kind_of(id)?)))
            else {
                return 1;
            };
            return match kind {
                Kind::Int | Kind::Float | Kind::Enum | Kind::Enum64 => {
                    btf.word_of(rid).unwrap_or(0).clamp(1, 16)
                }
                Kind::Ptr => 8,
                Kind::Array => match btf.ty(rid).and_then(|t| t.array()) {
                    Some(a) => {
                        id = a.elem;
                        continue;
                    }
                    None => 1,
                },
                Kind::Struct | Kind::Union => self.record_align(rid, depth),
                _ => 1,
            };
        }
    }

    /// The alignment of a STRUCT or UNION, memoised.
    fn record_align(&mut self, id: u32, depth: u32) -> u32 {
        let Some(slot) = self.align.get(id as usize) else {
            return 1;
        };
        let cached = slot.load(Ordering::Relaxed);
        if cached != 0 {
            return u32::from(cached);
        }
        debug_assert!(depth <= MAX_DEPTH, "validation bounds by-value nesting");
        let a = if depth > MAX_DEPTH {
            1
        } else {
            self.plan(id, depth + 1).align
        };
        slot.store(a.min(255) as u8, Ordering::Relaxed);
        a
    }

    fn size_bits(&self, id: u32) -> u64 {
        self.btf.size_of(id).unwrap_or(0).saturating_mul(8)
    }

    /// `(size_bits(id), align_of(id))` with one walk through typedefs and modifiers, in the
    /// dense per-type arrays rather than the records.
    fn layout_of(&mut self, id: u32, depth: u32) -> (u64, u32) {
        let btf = self.btf;
        let Some((id, kind)) = btf.resolve(id).and_then(|id| Some((id, btf.kind_of(id)?))) else {
            return (0, 1);
        };
        let size = btf.word_of(id).unwrap_or(0);
        match kind {
            Kind::Int | Kind::Float | Kind::Enum | Kind::Enum64 => {
                (u64::from(size) * 8, size.clamp(1, 16))
            }
            Kind::Ptr => (64, 8),
            Kind::Struct | Kind::Union => (u64::from(size) * 8, self.record_align(id, depth)),
            Kind::Datasec => (u64::from(size) * 8, 1),
            _ => (self.size_bits(id), self.align_of(id, depth)),
        }
    }

    /// Plans a STRUCT or UNION: the natural layout if it matches BTF, else a packed one.
    pub(super) fn plan(&mut self, id: u32, depth: u32) -> Plan {
        let Some(t) = self.btf.ty(id) else {
            return Plan {
                align: 1,
                ..Plan::default()
            };
        };
        if t.kind() == Kind::Union {
            return self.plan_union(id, depth);
        }
        self.plan_struct(id, false, depth)
            .or_else(|| self.plan_struct(id, true, depth))
            .unwrap_or(Plan {
                packed: true,
                align: 1,
                ..Plan::default()
            })
    }

    fn plan_struct(&mut self, id: u32, packed: bool, depth: u32) -> Option<Plan> {
        let t = self.btf.ty(id)?;
        let size_bits = u64::from(t.size()) * 8;
        let mut plan = Plan {
            packed,
            align: 1,
            ..Plan::default()
        };
        let mut cur = 0u64;
        let mut pads = Vec::new();
        for (i, m) in t.member_layout().enumerate() {
            let target = u64::from(m.bit_offset);
            if target < cur {
                return None;
            }
            let (m_bits, m_align) = if packed {
                (self.size_bits(m.type_id), 1)
            } else {
                self.layout_of(m.type_id, depth)
            };
            if m.bitfield_size > 0 {
                let unit = m_bits;
                let bits = u64::from(m.bitfield_size);
                if !packed && (unit == 0 || target % unit + bits > unit) {
                    return None;
                }
                fill(cur, target, &mut pads);
                cur = target + bits;
            } else {
                if target % 8 != 0 {
                    return None;
                }
                let natural = align_up(cur, u64::from(m_align) * 8);
                if natural > target || target % (u64::from(m_align) * 8) != 0 {
                    return None;
                }
                if natural < target {
                    fill(cur, target, &mut pads);
                }
                cur = target + m_bits;
            }
            plan.align = plan.align.max(m_align);
            if !pads.is_empty() {
                plan.pads.push((i, std::mem::take(&mut pads)));
            }
        }
        if cur > size_bits {
            return None;
        }
        let natural_end = align_up(cur, u64::from(plan.align) * 8);
        if natural_end != size_bits {
            if size_bits % (u64::from(plan.align) * 8) != 0 {
                return None;
            }
            fill(cur, size_bits, &mut pads);
            plan.pads.push((t.vlen(), pads));
        }
        Some(plan)
    }

    fn plan_union(&mut self, id: u32, depth: u32) -> Plan {
        let Some(t) = self.btf.ty(id) else {
            return Plan {
                align: 1,
                ..Plan::default()
            };
        };
        let size = u64::from(t.size());
        let mut align = 1u32;
        let mut max = 0u64;
        for m in t.member_layout() {
            let (m_bits, m_align) = self.layout_of(m.type_id, depth);
            align = align.max(m_align);
            let bits = if m.bitfield_size > 0 {
                u64::from(m.bitfield_size)
            } else {
                m_bits
            };
            max = max.max(u64::from(m.bit_offset) + bits);
        }
        let max_bytes = max.div_ceil(8);
        let natural = align_up(max_bytes, u64::from(align));
        if natural == size {
            return Plan {
                align,
                ..Plan::default()
            };
        }
        if natural < size {
            // Raise the alignment until the rounding reaches the BTF size.
            let mut a = u64::from(align);
            while a <= size && a <= 4096 {
                if align_up(max_bytes, a) == size {
                    return Plan {
                        aligned: Some(a as u32),
                        align: a as u32,
                        ..Plan::default()
                    };
                }
                a *= 2;
            }
        }
        // Packed: the size is the largest member; a tail pad is not expressible in a union
        // without a named member, so only sizes that match exactly get here cleanly.
        Plan {
            packed: true,
            align: 1,
            ..Plan::default()
        }
    }
}
