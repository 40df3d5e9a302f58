//! BTFGen (`bpftool gen min_core_btf`): from a kernel's BTF, keep only the types, members
//! and enumerations that a set of objects' CO-RE relocations resolve to, so a few hundred
//! bytes per kernel stand in for its BTF on kernels that have none.
//!
//! Each relocation is matched as libbpf matches it at load time (`core.rs`), then the
//! target spec is marked as bpftool marks it: field relocations keep the root type and
//! each member on the access path with the member's type (pointers kept, not followed);
//! type relocations keep the type and everything it reaches, pointers included, but no
//! struct members; enum relocations keep the enum. Output ids follow the kernel's order.

pub mod archive;
pub mod core;

use std::collections::{HashMap, HashSet};

use crate::btf::write::{Overflow, Writer};
use crate::btf::{Btf, Kind};
use crate::elf::object::Object;
use core::{ReloKind, Spec};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}")]
    Object {
        path: String,
        #[source]
        source: crate::elf::object::Error,
    },
    #[error("{path}: CO-RE relocation #{index} of section {section}: {msg}")]
    Relo {
        path: String,
        section: String,
        index: usize,
        msg: String,
    },
    #[error("kernel type [{id}] is a {kind}, which BTFGen cannot keep")]
    Unsupported { id: u32, kind: &'static str },
    #[error(transparent)]
    Write(#[from] Overflow),
    #[error(transparent)]
    Archive(#[from] archive::Error),
    #[error("{path}")]
    KernelBtf {
        path: String,
        #[source]
        source: crate::btf::Error,
    },
    #[error("{dir}: no kernel BTF for {arch} in BTFHub's layout (ID/VERSION_ID/{arch}/RELEASE.btf[.tar.xz])")]
    EmptyArchive { dir: String, arch: String },
}

/// What is kept of one kernel BTF so far.
pub struct Minimizer<'k> {
    kernel: &'k Btf<'k>,
    types: Vec<bool>,
    members: HashSet<(u32, u32)>,
    /// Kernel candidates by kind (ENUM64 filed as ENUM) and name without flavor, found in
    /// one pass over the kernel for every name the objects ask for.
    cands: HashMap<Kind, HashMap<String, Vec<u32>>>,
}

/// Enums of both widths are candidates for each other.
fn kind_class(k: Kind) -> Kind {
    match k {
        Kind::Enum64 => Kind::Enum,
        k => k,
    }
}

impl<'k> Minimizer<'k> {
    pub fn new(kernel: &'k Btf<'k>) -> Minimizer<'k> {
        Minimizer {
            kernel,
            types: vec![false; kernel.type_count() as usize],
            members: HashSet::new(),
            cands: HashMap::new(),
        }
    }

    /// Finds the kernel candidates of every type the objects relocate against, in one
    /// pass over the kernel's types instead of one per type.
    pub fn prepare(&mut self, objects: &[(&str, &Object<'_>)]) {
        let mut wanted: HashMap<Kind, HashMap<String, Vec<u32>>> = HashMap::new();
        for (_, obj) in objects {
            let Some(ext) = obj.ext else { continue };
            for sec in ext.core_relo.sections() {
                for r in sec.core_relos() {
                    let Some(t) = obj.btf.ty(r.type_id) else {
                        continue;
                    };
                    let name = t.name();
                    let ess = &name[..core::essential_len(name)];
                    wanted
                        .entry(kind_class(t.kind()))
                        .or_default()
                        .entry(ess.to_string())
                        .or_default();
                }
            }
        }
        // A bit per (length, first, last byte) of the wanted names: most kernel names miss
        // it and skip hashing.
        let sig = |s: &str| {
            let b = s.as_bytes();
            let (f, l) = (b.first().copied(), b.last().copied());
            (b.len() * 31 + usize::from(f.unwrap_or(0)) * 7 + usize::from(l.unwrap_or(0))) & 0xffff
        };
        let mut filter = vec![0u64; 1024];
        for n in wanted.values().flat_map(|m| m.keys()) {
            filter[sig(n) / 64] |= 1 << (sig(n) % 64);
        }
        let k = self.kernel;
        for id in k.ids() {
            let Some(names) = k.kind_of(id).and_then(|c| wanted.get_mut(&kind_class(c))) else {
                continue;
            };
            let name = k.ty(id).map_or("", |t| t.name());
            let ess = &name[..core::essential_len(name)];
            if ess.is_empty() || filter[sig(ess) / 64] >> (sig(ess) % 64) & 1 == 0 {
                continue;
            }
            if let Some(v) = names.get_mut(ess) {
                v.push(id);
            }
        }
        self.cands = wanted;
    }

    /// `bpf_core_add_cands` for local type `id`, from the prepared index when it has it.
    fn find_cands(&self, local: &Btf<'_>, id: u32) -> Result<Vec<u32>, String> {
        let t = local
            .ty(id)
            .ok_or_else(|| format!("local type id {id} out of range"))?;
        let name = t.name();
        let found = self
            .cands
            .get(&kind_class(t.kind()))
            .and_then(|m| m.get(&name[..core::essential_len(name)]));
        match found {
            Some(v) => Ok(v.clone()),
            None => core::find_cands(local, id, self.kernel),
        }
    }

    /// Resolves every CO-RE relocation of the object at `path` and keeps what it needs.
    pub fn add_object(&mut self, path: &str, obj: &Object<'_>) -> Result<(), Error> {
        let Some(ext) = obj.ext else { return Ok(()) };
        let local = &obj.btf;
        // Candidates per local type, narrowed by each match as libbpf narrows its cache.
        let mut cands: HashMap<u32, Vec<u32>> = HashMap::new();
        for sec in ext.core_relo.sections() {
            let section = local.str_at(sec.sec_name_off).unwrap_or("").to_string();
            for (index, r) in sec.core_relos().enumerate() {
                let fail = |msg: String| Error::Relo {
                    path: path.to_string(),
                    section: section.clone(),
                    index,
                    msg,
                };
                let kind = ReloKind::from_raw(r.kind)
                    .ok_or_else(|| fail(format!("unknown relocation kind {}", r.kind)))?;
                let access = local
                    .str_at(r.access_str_off)
                    .ok_or_else(|| fail("access string offset out of range".into()))?;
                let name = local
                    .ty(r.type_id)
                    .ok_or_else(|| fail(format!("local type id {} out of range", r.type_id)))?
                    .name();
                let spec = core::parse_spec(local, r.type_id, access, kind).map_err(&fail)?;
                if kind == ReloKind::TypeIdLocal {
                    continue;
                }
                if name.is_empty() {
                    return Err(fail(
                        "relocations against anonymous types are not supported".into(),
                    ));
                }
                core::value(local, kind, Some(&spec)).map_err(&fail)?;
                let list = match cands.entry(r.type_id) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(self.find_cands(local, r.type_id).map_err(&fail)?)
                    }
                };
                let target = self.best_match(local, &spec, list).map_err(&fail)?;
                if let Some(t) = target {
                    self.record(&t).map_err(|e| match e {
                        Error::Unsupported { .. } => fail(e.to_string()),
                        e => e,
                    })?;
                }
            }
        }
        Ok(())
    }

    /// `bpf_core_calc_relo_insn`'s candidate loop: the first matching candidate's spec;
    /// every other match must agree with it. Narrows `cands` to the matches.
    fn best_match(
        &self,
        local: &Btf<'_>,
        spec: &Spec<'_>,
        cands: &mut Vec<u32>,
    ) -> Result<Option<Spec<'k>>, String> {
        let mut first: Option<(Spec<'k>, Option<u64>)> = None;
        let mut kept = Vec::new();
        for &c in cands.iter() {
            let Some(cs) = core::spec_match(local, spec, self.kernel, c)? else {
                continue;
            };
            let v = core::value(self.kernel, spec.kind, Some(&cs))?;
            match &first {
                None => first = Some((cs, v)),
                Some((f, _)) if f.bit_offset != cs.bit_offset => {
                    return Err(format!(
                        "field offset ambiguity between kernel types [{}] and [{c}]",
                        f.root_type_id
                    ))
                }
                Some((f, fv)) if *fv != v => {
                    return Err(format!(
                        "relocation ambiguity between kernel types [{}] and [{c}]",
                        f.root_type_id
                    ))
                }
                Some(_) => {}
            }
            kept.push(c);
        }
        if !kept.is_empty() {
            *cands = kept;
        }
        Ok(first.map(|(s, _)| s))
    }

    fn record(&mut self, t: &Spec<'_>) -> Result<(), Error> {
        let k = t.kind;
        if k.is_field() {
            self.record_field(t)
        } else if k == ReloKind::TypeMatches {
            self.mark_match(t.root_type_id)
        } else if k.is_type() {
            self.mark(t.root_type_id, true)
        } else {
            self.mark(t.root_type_id, false)
        }
    }

    /// Keeps the root, then each member on the raw access path and its type.
    fn record_field(&mut self, t: &Spec<'_>) -> Result<(), Error> {
        let btf = self.kernel;
        let mut id = t.root_type_id;
        self.mark(id, false)?;
        for &idx in t.raw.iter().skip(1) {
            id = btf.resolve(id).unwrap_or(0);
            let ty = btf.ty(id).ok_or(Error::Unsupported { id, kind: "UNKN" })?;
            match ty.kind() {
                Kind::Struct | Kind::Union => {
                    let m = ty.members().nth(idx as usize).ok_or(Error::Unsupported {
                        id,
                        kind: "member index",
                    })?;
                    self.members.insert((id, idx));
                    id = m.type_id;
                    self.mark(id, false)?;
                }
                Kind::Array => id = ty.array().map(|a| a.elem).unwrap_or(0),
                k => {
                    return Err(Error::Unsupported {
                        id,
                        kind: k.raw_name(),
                    })
                }
            }
        }
        Ok(())
    }

    /// `btfgen_mark_type`: keeps `id` and what it needs, iteratively.
    fn mark(&mut self, id: u32, follow_pointers: bool) -> Result<(), Error> {
        let btf = self.kernel;
        let mut work = vec![id];
        // Pointers can lead back to where the walk started.
        let mut seen = HashSet::new();
        while let Some(id) = work.pop() {
            if id == 0 || follow_pointers && !seen.insert(id) {
                continue;
            }
            let ty = btf.ty(id).ok_or(Error::Unsupported { id, kind: "UNKN" })?;
            let slot = self.types.get_mut(id as usize).ok_or(Error::Unsupported {
                id,
                kind: "out-of-range type",
            })?;
            // bpftool re-walks marked types; their needs are marked already, except
            // pointers first kept without following them.
            let again = *slot;
            *slot = true;
            match ty.kind() {
                Kind::Int
                | Kind::Float
                | Kind::Enum
                | Kind::Enum64
                | Kind::Struct
                | Kind::Union => {}
                Kind::Ptr if follow_pointers => work.push(ty.type_id()),
                Kind::Ptr => {}
                _ if again && !follow_pointers => {}
                Kind::Const | Kind::Volatile | Kind::Restrict | Kind::Typedef => {
                    work.push(ty.type_id())
                }
                Kind::Array => {
                    let a = ty.array().unwrap_or_default();
                    work.extend([a.index, a.elem]);
                }
                Kind::FuncProto => {
                    work.extend(ty.param_types());
                    work.push(ty.type_id());
                }
                k => {
                    return Err(Error::Unsupported {
                        id,
                        kind: k.raw_name(),
                    })
                }
            }
        }
        Ok(())
    }

    /// `btfgen_mark_type_match`: keeps `id` and, outside pointers, every member of the
    /// structs and unions it holds, which the match compared.
    fn mark_match(&mut self, id: u32) -> Result<(), Error> {
        let btf = self.kernel;
        let mut work = vec![(id, false)];
        // Function prototypes can point back at themselves.
        let mut seen = HashSet::new();
        while let Some((id, behind_ptr)) = work.pop() {
            if id == 0 || !seen.insert((id, behind_ptr)) {
                continue;
            }
            let ty = btf.ty(id).ok_or(Error::Unsupported { id, kind: "UNKN" })?;
            if let Some(slot) = self.types.get_mut(id as usize) {
                *slot = true;
            }
            match ty.kind() {
                Kind::Int | Kind::Float | Kind::Enum | Kind::Enum64 => {}
                Kind::Struct | Kind::Union if behind_ptr => {}
                Kind::Struct | Kind::Union => {
                    for (i, m) in ty.members().enumerate() {
                        self.members.insert((id, i as u32));
                        work.push((m.type_id, false));
                    }
                }
                Kind::Const | Kind::Restrict | Kind::Typedef | Kind::Volatile => {
                    work.push((ty.type_id(), behind_ptr))
                }
                // A FWD's third word is 0: nothing follows.
                Kind::Fwd => {}
                Kind::Ptr => work.push((ty.type_id(), true)),
                Kind::Array => {
                    let a = ty.array().unwrap_or_default();
                    work.extend([(a.index, false), (a.elem, false)]);
                }
                Kind::FuncProto => {
                    work.extend(ty.param_types().map(|p| (p, false)));
                    work.push((ty.type_id(), false));
                }
                k => {
                    return Err(Error::Unsupported {
                        id,
                        kind: k.raw_name(),
                    })
                }
            }
        }
        Ok(())
    }

    /// The kept types as raw BTF, in kernel id order, ids renumbered, references to types
    /// not kept turned into void.
    pub fn finish(&self) -> Result<Vec<u8>, Error> {
        let btf = self.kernel;
        let mut new_ids = vec![0u32; self.types.len()];
        let mut next = 0;
        for (id, &kept) in self.types.iter().enumerate() {
            if kept {
                next += 1;
                new_ids[id] = next;
            }
        }
        let map = |id: u32| new_ids.get(id as usize).copied().unwrap_or(0);
        let mut w = Writer::new();
        for id in btf.ids().filter(|&id| self.types[id as usize]) {
            let Some(ty) = btf.ty(id) else { continue };
            if matches!(ty.kind(), Kind::Struct | Kind::Union) {
                w.begin(ty.name(), ty.kind(), 0, false, ty.size())?;
                for (i, m) in ty.members().enumerate() {
                    if self.members.contains(&(id, i as u32)) {
                        w.member(m.name, map(m.type_id), m.bit_offset, m.bitfield_size)?;
                    }
                }
            } else {
                w.copy(&ty, map)?;
            }
        }
        Ok(w.finish()?)
    }
}

/// `gen min_core_btf`: the minimal BTF of `kernel` for `objects` (path, parsed object).
pub fn min_core_btf(kernel: &Btf<'_>, objects: &[(&str, &Object<'_>)]) -> Result<Vec<u8>, Error> {
    let mut m = Minimizer::new(kernel);
    m.prepare(objects);
    for (path, obj) in objects {
        m.add_object(path, obj)?;
    }
    m.finish()
}

/// `ecc --btfgen`: the package tar holding `package_json` and, for every kernel of the
/// BTFHub archive `dir` built for `arch`, the minimal BTF the object needs there.
pub fn package_tar(
    obj_path: &str,
    obj: &Object<'_>,
    package_json: &[u8],
    dir: &std::path::Path,
    arch: &str,
) -> Result<Vec<u8>, Error> {
    let arch = archive::btfhub_arch(arch);
    let kernels = archive::scan(dir, Some(arch))?;
    if kernels.is_empty() {
        return Err(Error::EmptyArchive {
            dir: dir.display().to_string(),
            arch: arch.to_string(),
        });
    }
    let one = |path: &std::path::Path| -> Result<Vec<u8>, Error> {
        let data = archive::read_kernel_btf(path)?;
        let btf = Btf::parse(&data).map_err(|source| Error::KernelBtf {
            path: path.display().to_string(),
            source,
        })?;
        min_core_btf(&btf, &[(obj_path, obj)])
    };
    // Decompressing and parsing a kernel's BTF dominates; kernels are independent.
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = kernels.len().div_ceil(workers);
    let results: Vec<Result<Vec<u8>, Error>> = std::thread::scope(|s| {
        let handles: Vec<_> = kernels
            .chunks(chunk)
            .map(|c| s.spawn(move || c.iter().map(|(_, p)| one(p)).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut btfs = Vec::with_capacity(kernels.len());
    for ((k, _), r) in kernels.iter().zip(results) {
        btfs.push((k.clone(), r?));
    }
    if btfs.len() != kernels.len() {
        return Err(Error::EmptyArchive {
            dir: dir.display().to_string(),
            arch: arch.to_string(),
        });
    }
    Ok(archive::write_package_tar(package_json, &btfs))
}

#[cfg(test)]
mod tests;
