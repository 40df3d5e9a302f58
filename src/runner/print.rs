//! What `ecc run` prints for a sample or a sampling interval: table rows or JSON lines for
//! events, histograms or `key: value` lines for sampled maps. Pure: bytes and a time in,
//! text out.

use std::cell::{Cell, RefCell};
use std::fmt::Write as _;

use super::decode::{decode, hex, Table, Value};
use super::export::pick_type;
use super::input::SampleMeta;
use crate::btf::Btf;

/// The JSON key of an event's time (RFC 3339, UTC); `ecc_timestamp` when the struct has
/// a member of that name.
pub const TIMESTAMP_KEY: &str = "timestamp";

/// Formats event samples: table rows or JSON lines.
pub struct EventPrinter<'b, 'a> {
    btf: &'b Btf<'a>,
    /// Candidate struct ids and their sizes, most likely first.
    types: Vec<(u32, u64)>,
    perf: bool,
    json: bool,
    /// One table per candidate (one `data` table when there is none).
    tables: Vec<Table>,
    /// The table whose header was printed last.
    shown: Cell<Option<usize>>,
    warned: Cell<bool>,
    warning: RefCell<Option<String>>,
}

impl<'b, 'a> EventPrinter<'b, 'a> {
    pub fn new(btf: &'b Btf<'a>, types: &[u32], perf: bool, json: bool) -> Self {
        let types: Vec<(u32, u64)> = types
            .iter()
            .map(|&id| (id, btf.size_of(id).unwrap_or(0)))
            .collect();
        let mut tables: Vec<Table> = types.iter().map(|(id, _)| Table::of(btf, *id)).collect();
        if tables.is_empty() {
            tables.push(Table::new(["data"]));
        }
        EventPrinter {
            btf,
            types,
            perf,
            json,
            tables,
            shown: Cell::new(None),
            warned: Cell::new(false),
            warning: RefCell::new(None),
        }
    }

    /// The table header to print before any event, when it is known up front (one type).
    pub fn header(&self) -> Option<String> {
        if self.json || self.types.len() > 1 {
            return None;
        }
        self.shown.set(Some(0));
        Some(self.tables[0].header())
    }

    /// The output for a sample (a header line first when the sample's struct differs from
    /// the last one printed), or the error line to print instead.
    pub fn line(&self, time: &str, sample: &[u8]) -> Result<String, String> {
        let (idx, id) = match self.pick(sample.len()) {
            Some((i, id)) => (i, id),
            None => {
                let v = Value::Str(hex(sample));
                return Ok(if self.json {
                    json_with_time(time, &Value::Struct(vec![("data".into(), v)]))
                } else {
                    self.tables[0].row(time, &v)
                });
            }
        };
        let v = decode(self.btf, id, sample).map_err(|e| e.to_string())?;
        if self.json {
            return Ok(json_with_time(time, &v));
        }
        let table = &self.tables[idx];
        let row = table.row(time, &v);
        if self.shown.get() == Some(idx) {
            return Ok(row);
        }
        self.shown.set(Some(idx));
        Ok(format!("{}\n{row}", table.header()))
    }

    /// A warning to print once: samples whose struct had to be guessed.
    pub fn take_warning(&self) -> Option<String> {
        self.warning.borrow_mut().take()
    }

    fn pick(&self, len: usize) -> Option<(usize, u32)> {
        let (id, guessed) = pick_type(&self.types, len, self.perf);
        let id = id?;
        if guessed && !self.warned.replace(true) {
            let names: Vec<String> = self
                .types
                .iter()
                .map(|(t, s)| format!("{} ({s} bytes)", super::decode::type_name(self.btf, *t)))
                .collect();
            *self.warning.borrow_mut() = Some(format!(
                "a {len}-byte sample could be any of {}; decoding it as {} \
                 (put only the struct the program sends in the event header)",
                names.join(", "),
                super::decode::type_name(self.btf, id)
            ));
        }
        self.types
            .iter()
            .position(|(t, _)| *t == id)
            .map(|i| (i, id))
    }
}

/// A decoded value as a JSON object with the time first.
fn json_with_time(time: &str, v: &Value) -> String {
    let members: &[(String, Value)] = match v {
        Value::Struct(m) => m,
        _ => &[],
    };
    let key = if members.iter().any(|(n, _)| n == TIMESTAMP_KEY) {
        "ecc_timestamp"
    } else {
        TIMESTAMP_KEY
    };
    let mut s = format!("{{\"{key}\":{}", Value::Str(time.to_string()).to_json());
    let body = match v {
        Value::Struct(_) => v.to_json(),
        other => format!("{{\"value\":{}}}", other.to_json()),
    };
    let inner = &body[1..];
    if inner != "}" {
        s.push(',');
    }
    s.push_str(inner);
    s
}

/// A histogram map's value split into its slot counts and the other members (`comm`, …):
/// the slots are the member named `slots`, else the first integer array; a value that is
/// not a struct is all slots.
pub(crate) fn hist_parts(value: &Value) -> (Vec<u64>, Vec<(String, Value)>) {
    let mut slots = Vec::new();
    let Value::Struct(members) = value else {
        value.integers(&mut slots);
        return (slots, Vec::new());
    };
    let is_ints = |v: &Value| {
        matches!(v, Value::Array(items)
            if items.iter().all(|i| matches!(i, Value::Int(_) | Value::Uint(_))))
    };
    let at = members
        .iter()
        .position(|(n, _)| n == "slots")
        .or_else(|| members.iter().position(|(_, v)| is_ints(v)));
    let mut fields = Vec::new();
    for (i, (n, v)) in members.iter().enumerate() {
        if Some(i) == at {
            v.integers(&mut slots);
        } else {
            fields.push((n.clone(), v.clone()));
        }
    }
    (slots, fields)
}

/// One sampling interval's output. `time` is `HH:MM:SS` for text, RFC 3339 for JSON.
pub fn render_sample(
    btf: &Btf<'_>,
    sample: &SampleMeta,
    key_type: Option<u32>,
    value_type: Option<u32>,
    entries: &[(Vec<u8>, Vec<u8>)],
    json: bool,
    time: &str,
) -> String {
    let show = |ty: Option<u32>, b: &[u8]| match ty.map(|t| decode(btf, t, b)) {
        Some(Ok(v)) => v,
        _ => Value::Str(hex(b)),
    };
    let time_json = Value::Str(time.to_string()).to_json();
    let mut s = String::new();
    if !json && !entries.is_empty() {
        let _ = writeln!(s, "{time}");
    }
    for (k, v) in entries {
        let key = show(key_type, k);
        let value = show(value_type, v);
        if sample.kind == "log2_hist" || sample.kind == "linear_hist" {
            let (slots, fields) = hist_parts(&value);
            if json {
                let list: Vec<String> = slots.iter().map(u64::to_string).collect();
                let _ = write!(
                    s,
                    "{{\"{TIMESTAMP_KEY}\":{time_json},\"key\":{},\"type\":\"{}\",\"unit\":{},",
                    key.to_json(),
                    sample.kind,
                    Value::Str(sample.unit.clone()).to_json(),
                );
                if !fields.is_empty() {
                    let _ = write!(s, "\"fields\":{},", Value::Struct(fields).to_json());
                }
                let _ = writeln!(s, "\"slots\":[{}]}}", list.join(","));
                continue;
            }
            if entries.len() > 1 {
                let _ = writeln!(s, "key = {}", key.to_text());
            }
            for (n, f) in &fields {
                let _ = writeln!(s, "{n} = {}", f.to_text());
            }
            if sample.kind == "log2_hist" {
                s.push_str(&super::hist::log2_hist(&slots, &sample.unit));
            } else {
                s.push_str(&super::hist::linear_hist(&slots, &sample.unit));
            }
        } else if json {
            let _ = writeln!(
                s,
                "{{\"{TIMESTAMP_KEY}\":{time_json},\"key\":{},\"value\":{}}}",
                key.to_json(),
                value.to_json()
            );
        } else {
            let _ = writeln!(s, "{}: {}", key.to_text(), value.to_text());
        }
    }
    s
}
