//! `format c`: a C header from BTF, good enough to be vmlinux.h.
//!
//! Passes, all before output: `order` decides the emission order and forward declarations,
//! `schedule` turns it into a list of top-level items, `names` decides every name, and `pad`
//! plans padding and `packed` from BTF offsets while items are rendered. Rendering cannot
//! fail, so the header is written whole or not at all; on big inputs the items are rendered
//! in pieces on two threads while they are still being scheduled.

mod decl;
mod order;
mod pad;
mod schedule;

use std::fmt::Write;
use std::sync::{Mutex, OnceLock};

use crate::btf::{Btf, Kind, Ty};
use crate::emit::cdecl::Nest;

use crate::model::names::{Names, Reserved};
use order::Orderer;
use pad::{Aligns, Planner};
use schedule::Item;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("no struct, union, enum or typedef named '{0}'")]
    NoSuchType(String),
    #[error("type [{0}] is part of a cycle that no forward declaration can break")]
    Cycle(u32),
}

/// Dumps every type (or only `only` and what they need) as a C header.
pub fn dump(btf: &Btf<'_>, only: &[String]) -> Result<String, Error> {
    let mut out = String::with_capacity(btf.type_count() as usize * 32);
    dump_to(btf, only, &mut out)?;
    Ok(out)
}

/// Like `dump`, writing into `out`. All checks happen before the first byte is written.
pub fn dump_to<W: Write>(btf: &Btf<'_>, only: &[String], out: &mut W) -> Result<(), Error> {
    // Named roots, or none for "everything".
    let roots: Vec<u32> = if only.is_empty() {
        Vec::new()
    } else {
        let mut ids = Vec::new();
        for name in only {
            let found: Vec<u32> = btf
                .find_by_name(name)
                .filter(|&id| {
                    btf.ty(id).is_some_and(|t| {
                        matches!(
                            t.kind(),
                            Kind::Struct
                                | Kind::Union
                                | Kind::Enum
                                | Kind::Enum64
                                | Kind::Typedef
                                | Kind::Fwd
                        )
                    })
                })
                .collect();
            if found.is_empty() {
                return Err(Error::NoSuchType(name.clone()));
            }
            ids.extend(found);
        }
        ids
    };
    let order = || -> Result<Orderer, Error> {
        let mut orderer = Orderer::new(btf);
        match only.is_empty() {
            true => orderer.order_all(btf.ids())?,
            false => orderer.order_all(roots.iter().copied())?,
        }
        Ok(orderer)
    };
    let aligns = Aligns::new(btf);
    if btf.type_count() < PARALLEL_MIN_TYPES {
        let (queue, scratch) = order()?.into_queue();
        let names = Names::decide(btf, RESERVED);
        let mut d = Dumper::new(btf, &names, &aligns);
        // Writing to a String cannot fail; `out` errors are the caller's writer's.
        let _ = out.write_str(HEADER_START);
        schedule::schedule(btf, &queue, scratch, |item| {
            d.render(item);
            if d.out.len() > 1 << 16 {
                let _ = out.write_str(&d.out);
                d.out.clear();
            }
        });
        let _ = out.write_str(&d.out);
        let _ = out.write_str(HEADER_END);
        return Ok(());
    }
    // Big inputs: this thread orders the types, then lists the header's items and hands them
    // out in pieces; the helper decides the names meanwhile (they do not depend on the
    // order), then renders pieces, and this thread joins it once all are handed out. Pieces
    // are written in order as they are done; none is handed out before ordering succeeded.
    let names = OnceLock::new();
    let mut failed = None;
    let mut started = false;
    // Buffers already written out, for the next pieces: every fresh page costs a fault.
    let spare = Mutex::new(Vec::<String>::new());
    crate::util::par::pipeline(
        |send| {
            let (queue, scratch) = match order() {
                Ok(orderer) => orderer.into_queue(),
                Err(e) => return failed = Some(e),
            };
            let (mut piece, mut weight) = (Vec::new(), 0);
            schedule::schedule(btf, &queue, scratch, |item| {
                weight += 1 + match item {
                    Item::Composite(id) | Item::Enum(id) => btf.ty(id).map_or(0, |t| t.vlen()),
                    _ => 0,
                };
                piece.push(item);
                if weight >= PIECE_WEIGHT {
                    send(std::mem::take(&mut piece));
                    weight = 0;
                }
            });
            send(piece);
        },
        || {
            Dumper::new(
                btf,
                names.get_or_init(|| Names::decide(btf, RESERVED)),
                &aligns,
            )
        },
        |d, piece: &Vec<Item>| {
            for &item in piece {
                d.render(item);
            }
            let next = spare.lock().ok().and_then(|mut s| s.pop());
            std::mem::replace(
                &mut d.out,
                next.unwrap_or_else(|| String::with_capacity(PIECE_BYTES)),
            )
        },
        |mut text| {
            if !std::mem::replace(&mut started, true) {
                let _ = out.write_str(HEADER_START);
            }
            let _ = out.write_str(&text);
            text.clear();
            if let Ok(mut s) = spare.lock() {
                s.push(text);
            }
        },
    );
    if let Some(e) = failed {
        return Err(e);
    }
    if !started {
        let _ = out.write_str(HEADER_START);
    }
    let _ = out.write_str(HEADER_END);
    Ok(())
}

/// `__builtin_va_list` is clang's own and differs per target, so the header uses the BTF
/// layout under a typedef of that name instead.
const RESERVED: Reserved<'static> = Reserved {
    typedefs: &["__builtin_va_list"],
    idents: &[],
    tags: &[],
};

/// Below this many types, threads cost more than they save.
const PARALLEL_MIN_TYPES: u32 = 20_000;

/// About how many lines (members, enumerators, top-level items) make one piece of a big
/// header: vmlinux gives ~140 pieces, so that two threads finish together and the few
/// buffers in flight stay small (each fresh page of them costs a fault).
const PIECE_WEIGHT: usize = 750;

/// Room for one piece's text, below glibc's threshold for giving each allocation its own
/// fresh pages, so that buffers freed after writing are reused.
const PIECE_BYTES: usize = 28 << 10;

const HEADER_START: &str = "/* Generated by ecc (wasm-bpftool btf dump format c); do not edit. */
#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
#endif

";

const HEADER_END: &str = "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
";

/// Renders items as C text into `out`.
pub(super) struct Dumper<'b, 'a> {
    btf: &'b Btf<'a>,
    names: &'b Names,
    planner: Planner<'b, 'a>,
    out: String,
    /// Declarator chains: each `write_decl` works above the part its callers use.
    chain: Vec<crate::emit::cdecl::Link<'b>>,
    /// A typedef's decided name while its declarator is written.
    scratch: String,
}

/// Appends `t`'s name as decided by `names`: the BTF name, or `name___N` for a clash.
fn push_name(out: &mut String, names: &Names, t: Ty<'_>) {
    out.push_str(t.name());
    if let Some(n) = names.suffix(t.id) {
        out.push_str("___");
        crate::emit::cdecl::push_num(out, n);
    }
}

impl<'b, 'a> Dumper<'b, 'a> {
    fn new(btf: &'b Btf<'a>, names: &'b Names, aligns: &'b Aligns) -> Self {
        Dumper {
            btf,
            names,
            planner: Planner::new(btf, aligns),
            out: String::with_capacity(PIECE_BYTES),
            chain: Vec::new(),
            scratch: String::new(),
        }
    }

    fn render(&mut self, item: Item) {
        match item {
            Item::Fwd(id) => self.write_fwd(id),
            Item::Typedef(id) => self.write_typedef(id),
            Item::Enum(id) => {
                self.write_enum_def(id, Nest::TOP);
                self.out.push_str(";\n\n");
            }
            Item::Composite(id) => {
                self.write_composite_def(id, Nest::TOP);
                self.out.push_str(";\n\n");
            }
        }
    }

    fn write_fwd(&mut self, id: u32) {
        let Some(t) = self.btf.ty(id) else { return };
        let kw = match t.kind() {
            Kind::Union => "union",
            Kind::Fwd if t.kind_flag() => "union",
            _ => "struct",
        };
        self.out.push_str(kw);
        self.out.push(' ');
        self.push_name(t);
        self.out.push_str(";\n\n");
    }

    fn write_typedef(&mut self, id: u32) {
        let Some(t) = self.btf.ty(id) else { return };
        if self.names.is_transparent(id) {
            return;
        }
        self.out.push_str("typedef ");
        let mut name = std::mem::take(&mut self.scratch);
        name.clear();
        push_name(&mut name, self.names, t);
        self.write_decl(t.type_id(), &name, Nest::TOP);
        self.scratch = name;
        self.out.push_str(";\n\n");
    }

    /// Appends a type's decided name.
    fn push_name(&mut self, t: Ty<'_>) {
        push_name(&mut self.out, self.names, t);
    }

    fn indent(&mut self, lvl: u32) {
        crate::emit::cdecl::push_tabs(&mut self.out, lvl);
    }
}
