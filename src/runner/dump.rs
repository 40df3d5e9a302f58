//! The final dump `ecc run` prints when a program has no output map (or with
//! `--dump-at-exit`): the `.bss` counters and every hash/array map, per-CPU values summed.
//! Reading is separate from rendering, so the text and JSON forms are tested without a kernel.

use libbpf_rs::{MapCore, MapFlags};

use super::decode::{decode, hex, Value};
use crate::btf::Btf;
use crate::elf::object::{internal_map_name, DataKind, Object};

pub const BPF_MAP_TYPE_HASH: u32 = 1;
pub const BPF_MAP_TYPE_ARRAY: u32 = 2;
pub const BPF_MAP_TYPE_PERCPU_HASH: u32 = 5;
pub const BPF_MAP_TYPE_PERCPU_ARRAY: u32 = 6;
pub const BPF_MAP_TYPE_LRU_HASH: u32 = 9;
pub const BPF_MAP_TYPE_LRU_PERCPU_HASH: u32 = 10;

/// Whether a map holds values the dump (and the metrics) can read key by key.
pub fn is_table(map_type: Option<u32>) -> bool {
    matches!(
        map_type,
        Some(
            BPF_MAP_TYPE_HASH
                | BPF_MAP_TYPE_ARRAY
                | BPF_MAP_TYPE_PERCPU_HASH
                | BPF_MAP_TYPE_PERCPU_ARRAY
                | BPF_MAP_TYPE_LRU_HASH
                | BPF_MAP_TYPE_LRU_PERCPU_HASH
        )
    )
}

pub fn is_percpu(map_type: Option<u32>) -> bool {
    matches!(
        map_type,
        Some(BPF_MAP_TYPE_PERCPU_HASH | BPF_MAP_TYPE_PERCPU_ARRAY | BPF_MAP_TYPE_LRU_PERCPU_HASH)
    )
}

/// What was read: `.bss` variables by name, and each table map's entries.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    pub counters: Vec<(String, Value)>,
    pub maps: Vec<(String, Vec<(Value, Value)>)>,
}

/// Adds `b` into `a` member by member: how per-CPU values become one value.
pub fn add(a: &mut Value, b: &Value) {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => *x = x.wrapping_add(*y),
        (Value::Uint(x), Value::Uint(y)) => *x = x.wrapping_add(*y),
        (Value::Float(x), Value::Float(y)) => *x += *y,
        (Value::Array(xs), Value::Array(ys)) => xs.iter_mut().zip(ys).for_each(|(x, y)| add(x, y)),
        (Value::Struct(xs), Value::Struct(ys)) => {
            xs.iter_mut().zip(ys).for_each(|((_, x), (_, y))| add(x, y))
        }
        _ => {}
    }
}

fn show(btf: &Btf<'_>, ty: Option<u32>, b: &[u8]) -> Value {
    match ty.map(|t| decode(btf, t, b)) {
        Some(Ok(v)) => v,
        _ => Value::Str(hex(b)),
    }
}

/// Decodes one entry's value, summing the per-CPU copies.
pub fn sum_values(btf: &Btf<'_>, ty: Option<u32>, per_cpu: &[Vec<u8>]) -> Option<Value> {
    let mut it = per_cpu.iter();
    let mut total = show(btf, ty, it.next()?);
    for v in it {
        add(&mut total, &show(btf, ty, v));
    }
    Some(total)
}

fn is_zero(v: &Value) -> bool {
    let mut ints = Vec::new();
    v.integers(&mut ints);
    ints.iter().all(|&i| i == 0) && !matches!(v, Value::Str(s) if !s.is_empty())
}

/// Reads the entries of table map `name` (keys sorted), per-CPU values summed. Array slots
/// that are all zero are left out, so a 10k-slot array does not print 10k lines.
pub fn read_map(
    obj: &libbpf_rs::Object,
    model: &Object<'_>,
    name: &str,
) -> Result<Vec<(Value, Value)>, String> {
    let def = model
        .maps
        .iter()
        .find(|m| m.name == name)
        .ok_or_else(|| format!("map '{name}' is not in the object"))?;
    let map = obj
        .maps()
        .find(|m| m.name().to_string_lossy() == name)
        .ok_or_else(|| format!("map '{name}' is not in the object"))?;
    let mut keys: Vec<Vec<u8>> = map.keys().collect();
    keys.sort();
    let percpu = is_percpu(def.map_type);
    let array = matches!(
        def.map_type,
        Some(BPF_MAP_TYPE_ARRAY | BPF_MAP_TYPE_PERCPU_ARRAY)
    );
    let mut out = Vec::new();
    for k in &keys {
        let values = if percpu {
            map.lookup_percpu(k, MapFlags::ANY)
        } else {
            map.lookup(k, MapFlags::ANY).map(|v| v.map(|v| vec![v]))
        }
        .map_err(|e| format!("reading map '{name}': {e:#}"))?;
        // A key deleted meanwhile by the program is fine.
        let Some(values) = values else { continue };
        let Some(v) = sum_values(&model.btf, def.value_type, &values) else {
            continue;
        };
        if array && is_zero(&v) {
            continue;
        }
        out.push((show(&model.btf, def.key_type, k), v));
    }
    Ok(out)
}

/// Reads the `.bss` variables and every table map.
pub fn snapshot(
    obj: &libbpf_rs::Object,
    model: &Object<'_>,
    obj_name: &str,
) -> Result<Snapshot, String> {
    let mut snap = Snapshot::default();
    for sec in model.datasecs.iter().filter(|s| s.kind == DataKind::Bss) {
        let want = internal_map_name(obj_name, &sec.name);
        let Some(map) = obj.maps().find(|m| m.name().to_string_lossy() == want) else {
            continue;
        };
        let bytes = map
            .lookup(&0u32.to_ne_bytes(), MapFlags::ANY)
            .map_err(|e| format!("reading {}: {e:#}", sec.name))?
            .unwrap_or_default();
        for v in sec.vars.iter().filter(|v| !super::options::hidden(&v.name)) {
            let start = v.offset as usize;
            let Some(b) = bytes.get(start..start.saturating_add(v.size as usize)) else {
                continue;
            };
            snap.counters
                .push((v.name.clone(), show(&model.btf, Some(v.type_id), b)));
        }
    }
    for def in model.maps.iter().filter(|m| is_table(m.map_type)) {
        snap.maps
            .push((def.name.clone(), read_map(obj, model, &def.name)?));
    }
    Ok(snap)
}

impl Snapshot {
    /// `name = value` lines for counters, then `map NAME:` and `  key: value` per entry.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        for (n, v) in &self.counters {
            s.push_str(&format!("{n} = {}\n", v.to_text()));
        }
        for (n, entries) in &self.maps {
            s.push_str(&format!("map {n}:"));
            if entries.is_empty() {
                s.push_str(" (empty)");
            }
            s.push('\n');
            for (k, v) in entries {
                s.push_str(&format!("  {}: {}\n", k.to_text(), v.to_text()));
            }
        }
        s
    }

    /// One JSON object: `{"counters":{..},"maps":{"m":[{"key":..,"value":..}]}}`.
    pub fn to_json(&self) -> String {
        let counters = Value::Struct(self.counters.clone());
        let mut s = format!("{{\"counters\":{},\"maps\":{{", counters.to_json());
        for (i, (n, entries)) in self.maps.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&Value::Str(n.clone()).to_json());
            s.push_str(":[");
            for (j, (k, v)) in entries.iter().enumerate() {
                if j > 0 {
                    s.push(',');
                }
                s.push_str(&format!(
                    "{{\"key\":{},\"value\":{}}}",
                    k.to_json(),
                    v.to_json()
                ));
            }
            s.push(']');
        }
        s.push_str("}}");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_cpu_values_sum_member_by_member() {
        let mut a = Value::Struct(vec![
            ("n".into(), Value::Uint(3)),
            ("d".into(), Value::Int(-2)),
            (
                "s".into(),
                Value::Array(vec![Value::Uint(1), Value::Uint(0)]),
            ),
            ("c".into(), Value::Str("x".into())),
        ]);
        let b = Value::Struct(vec![
            ("n".into(), Value::Uint(4)),
            ("d".into(), Value::Int(5)),
            (
                "s".into(),
                Value::Array(vec![Value::Uint(2), Value::Uint(7)]),
            ),
            ("c".into(), Value::Str("y".into())),
        ]);
        add(&mut a, &b);
        assert_eq!(a.to_text(), "{n: 7, d: 3, s: [3, 7], c: x}");
    }

    #[test]
    fn text_and_json_forms() {
        let s = Snapshot {
            counters: vec![("packets".into(), Value::Uint(12))],
            maps: vec![
                ("per_proto".into(), vec![(Value::Uint(17), Value::Uint(12))]),
                ("empty".into(), vec![]),
            ],
        };
        assert_eq!(
            s.to_text(),
            "packets = 12\nmap per_proto:\n  17: 12\nmap empty: (empty)\n"
        );
        let j: serde_json::Value = serde_json::from_str(&s.to_json()).unwrap();
        assert_eq!(j["counters"]["packets"], 12);
        assert_eq!(j["maps"]["per_proto"][0]["key"], 17);
        assert_eq!(j["maps"]["empty"], serde_json::json!([]));
    }
}
