//! Which map `ecc run` prints and which struct its samples are: the runtime's rule (the last
//! ring buffer, perf event array or `@sample` map), corrected where it goes wrong: a map no
//! program writes is passed over, and an event struct that contains another exported struct
//! is decoded as itself, not as the inner one.

use super::dump;
use super::input::{ExportType, Meta, SampleMeta};
use crate::btf::{Btf, Kind};
use crate::elf::object::{MapDef, Object};

const BPF_MAP_TYPE_PERF_EVENT_ARRAY: u32 = 4;
const BPF_MAP_TYPE_RINGBUF: u32 = 27;

/// What the runner prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Export {
    /// Samples from a ring buffer or perf event array, decoded as one of `types` (BTF struct
    /// ids, most likely first; each sample is matched by its size when there are several),
    /// hex when there is none (a bare object without a `struct event`).
    Events {
        map: String,
        perf: bool,
        types: Vec<u32>,
    },
    Sample {
        map: String,
        sample: SampleMeta,
        key_type: Option<u32>,
        value_type: Option<u32>,
    },
    Nothing,
}

/// The maps that program code refers to: relocations against symbols in `.maps` from any
/// executable section, so a map written from a static function (`.text`) counts.
pub fn maps_used_by_programs(model: &Object<'_>) -> Vec<String> {
    use object::{Object as _, ObjectSection as _, ObjectSymbol as _};
    let Ok(file) = object::File::parse(model.data) else {
        return Vec::new();
    };
    let mut used = Vec::new();
    let code = file.sections().filter(|s| {
        matches!(s.flags(), object::SectionFlags::Elf { sh_flags }
            if sh_flags & u64::from(object::elf::SHF_EXECINSTR) != 0)
    });
    for sec in code {
        for (_, r) in sec.relocations() {
            let object::RelocationTarget::Symbol(i) = r.target() else {
                continue;
            };
            let Ok(sym) = file.symbol_by_index(i) else {
                continue;
            };
            let in_maps = sym
                .section_index()
                .and_then(|s| file.section_by_index(s).ok())
                .is_some_and(|s| s.name() == Ok(".maps"));
            if let (true, Ok(name)) = (in_maps, sym.name()) {
                if !used.iter().any(|u| u == name) {
                    used.push(name.to_string());
                }
            }
        }
    }
    used
}

fn is_event_map(m: &MapDef) -> bool {
    matches!(
        m.map_type,
        Some(BPF_MAP_TYPE_RINGBUF | BPF_MAP_TYPE_PERF_EVENT_ARRAY)
    )
}

/// The output map: `wanted` (`--map NAME`), else the runtime's rule, the last map that is a
/// ring buffer, a perf event array or has `@sample` metadata, preferring maps that some
/// program refers to (a declared but unused ring buffer would print nothing).
pub fn choose_export(
    model: &Object<'_>,
    meta: Option<&Meta>,
    wanted: Option<&str>,
) -> Result<Export, String> {
    let sample_of = |name: &str| sample_meta(meta, name);
    let is_output = |m: &&MapDef| is_event_map(m) || sample_of(&m.name).is_some();
    let chosen = match wanted {
        Some(w) => {
            let m = model.maps.iter().find(|m| m.name == w).ok_or_else(|| {
                let names: Vec<&str> = model.maps.iter().map(|m| m.name.as_str()).collect();
                format!("--map {w}: no such map (maps: {})", names.join(", "))
            })?;
            if !is_output(&m) {
                if !dump::is_table(m.map_type) {
                    return Err(format!(
                        "--map {w}: a map of type {} cannot be printed",
                        m.map_type.unwrap_or(0)
                    ));
                }
                // A plain hash or array: printed as `key: value` every second.
                return Ok(Export::Sample {
                    map: m.name.clone(),
                    sample: SampleMeta {
                        interval: 1000,
                        kind: "table".into(),
                        unit: String::new(),
                        clear_map: false,
                    },
                    key_type: m.key_type,
                    value_type: m.value_type,
                });
            }
            Some(m)
        }
        None => {
            let used = maps_used_by_programs(model);
            let outputs: Vec<_> = model.maps.iter().filter(is_output).collect();
            outputs
                .iter()
                .rev()
                .find(|m| used.contains(&m.name))
                .or(outputs.last())
                .copied()
        }
    };
    let Some(map) = chosen else {
        return Ok(Export::Nothing);
    };
    if let Some(sample) = sample_of(&map.name) {
        return Ok(Export::Sample {
            map: map.name.clone(),
            sample,
            key_type: map.key_type,
            value_type: map.value_type,
        });
    }
    let perf = map.map_type == Some(BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    let types = match meta {
        Some(m) => {
            if m.export_types.is_empty() {
                return Err(format!(
                    "map '{}' sends events but the package has no export_types; \
                     compile it with the header that declares the event struct",
                    map.name
                ));
            }
            for et in &m.export_types {
                check_export_type(&model.btf, et)?;
            }
            event_types(&model.btf, &m.export_types)
        }
        None => model
            .btf
            .find("event", Kind::Struct)
            .map(|t| vec![t.id])
            .unwrap_or_default(),
    };
    Ok(Export::Events {
        map: map.name.clone(),
        perf,
        types,
    })
}

/// The export types a sample can be: those that are not a member (at any depth) of another
/// export type, in header order. `struct event { struct inner in; … }` is sent as `event`;
/// the runtime's "first struct of the header" would decode it as `inner`.
pub fn event_types(btf: &Btf<'_>, exports: &[ExportType]) -> Vec<u32> {
    let ids: Vec<u32> = exports.iter().map(|e| e.type_id).collect();
    let outer: Vec<u32> = ids
        .iter()
        .copied()
        .filter(|&id| !ids.iter().any(|&o| o != id && contains(btf, o, id, 0)))
        .collect();
    // Mutually containing types cannot exist; keep the runtime's choice if it ever seems so.
    if outer.is_empty() {
        ids.into_iter().take(1).collect()
    } else {
        outer
    }
}

/// Whether type `outer` holds a value of type `inner` (through members, arrays, typedefs).
fn contains(btf: &Btf<'_>, outer: u32, inner: u32, depth: usize) -> bool {
    if depth > 32 {
        return false;
    }
    let Some(t) = btf.skip_mods_and_typedefs(outer) else {
        return false;
    };
    match t.kind() {
        Kind::Struct | Kind::Union => t.members().any(|m| {
            let target = btf.skip_mods_and_typedefs(m.type_id).map(|x| x.id);
            target == Some(inner) || contains(btf, m.type_id, inner, depth + 1)
        }),
        Kind::Array => t.array().is_some_and(|a| {
            btf.skip_mods_and_typedefs(a.elem).map(|x| x.id) == Some(inner)
                || contains(btf, a.elem, inner, depth + 1)
        }),
        _ => false,
    }
}

/// Which of `types` (with their sizes) a sample of `len` bytes is: the one of exactly that
/// size (a perf sample may carry up to 7 bytes of padding), else the first that fits. The
/// flag says the choice was a guess: no size matched, or several did.
pub fn pick_type(types: &[(u32, u64)], len: usize, perf: bool) -> (Option<u32>, bool) {
    let len = len as u64;
    let slack = if perf { 7 } else { 0 };
    let exact: Vec<u32> = types
        .iter()
        .filter(|(_, s)| *s <= len && len - *s <= slack)
        .map(|(id, _)| *id)
        .collect();
    match exact.as_slice() {
        [one] => (Some(*one), false),
        [first, ..] => (Some(*first), types.len() > 1),
        [] => {
            let fit = types.iter().find(|(_, s)| *s <= len).or(types.first());
            (fit.map(|(id, _)| *id), types.len() > 1)
        }
    }
}

/// The runtime's check: `type_id` is a STRUCT with the same name and member names.
fn check_export_type(btf: &Btf<'_>, et: &ExportType) -> Result<(), String> {
    let t = btf
        .ty(et.type_id)
        .filter(|t| t.kind() == Kind::Struct && t.name() == et.name)
        .ok_or_else(|| {
            format!(
                "export type '{}' is not struct {} (BTF id {}) in the object",
                et.name, et.name, et.type_id
            )
        })?;
    let names: Vec<&str> = t.members().map(|m| m.name).collect();
    let want: Vec<&str> = et.members.iter().map(|m| m.name.as_str()).collect();
    if names != want {
        return Err(format!(
            "export type '{}' has members [{}] in the package but [{}] in BTF",
            et.name,
            want.join(", "),
            names.join(", ")
        ));
    }
    Ok(())
}

/// A map's `@sample` metadata.
pub fn sample_meta(meta: Option<&Meta>, name: &str) -> Option<SampleMeta> {
    meta.and_then(|m| m.bpf_skel.maps.as_ref())
        .and_then(|maps| maps.iter().find(|m| m.name == name))
        .and_then(|m| m.sample().ok().flatten())
}
