//! Decoding raw bytes by a BTF type into a value tree, and printing that tree as text or JSON.
//!
//! Pure functions: BTF type + bytes in, values or text out. Every read is bounds-checked
//! against the sample, so a short or odd sample gives an error, never a panic.

use std::cell::Cell;
use std::fmt::Write as _;

use crate::btf::{Btf, Kind, Ty};

/// A decoded value. Struct and union members keep their BTF order.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Int(i128),
    Uint(u128),
    Bool(bool),
    Float(f64),
    /// An enum value by name; `None` when no enumerator has this value.
    Enum {
        name: Option<String>,
        raw: i128,
    },
    /// A char array, up to its first NUL (or all of it when there is none).
    Str(String),
    Ptr(u64),
    Array(Vec<Value>),
    Struct(Vec<(String, Value)>),
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("sample of {got} bytes is shorter than {what} ({need} bytes)")]
    Short { what: String, need: u64, got: usize },
    #[error("cannot decode {0}")]
    Unsupported(String),
}

/// `depth` counts by-value steps (array element, member), which BTF validation bounds by
/// `MAX_NESTING`: the guard never fires on parsed BTF.
const MAX_DEPTH: usize = crate::btf::MAX_NESTING as usize;

/// Decodes `bytes` as BTF type `type_id`. `bytes` may be longer than the type (ring buffer
/// samples are padded), but not shorter.
pub fn decode(btf: &Btf<'_>, type_id: u32, bytes: &[u8]) -> Result<Value, DecodeError> {
    let need = btf
        .size_of(type_id)
        .ok_or_else(|| DecodeError::Unsupported(type_name(btf, type_id)))?;
    if (bytes.len() as u64) < need {
        return Err(DecodeError::Short {
            what: type_name(btf, type_id),
            need,
            got: bytes.len(),
        });
    }
    Decoder { btf, bytes }.value(type_id, 0, 0)
}

/// `v` as u64, saturating (a 128-bit integer above `u64::MAX` counts as the largest).
fn saturate<T: TryInto<u64>>(v: T) -> u64 {
    v.try_into().unwrap_or(u64::MAX)
}

/// `struct event`, `int`, …: a short name for messages.
pub fn type_name(btf: &Btf<'_>, type_id: u32) -> String {
    match btf.ty(type_id) {
        Some(t) => {
            let kw = match t.kind() {
                Kind::Struct => "struct ",
                Kind::Union => "union ",
                Kind::Enum | Kind::Enum64 => "enum ",
                _ => "",
            };
            let name = if t.name().is_empty() {
                "(anon)"
            } else {
                t.name()
            };
            format!("{kw}{name}")
        }
        None => format!("type [{type_id}]"),
    }
}

struct Decoder<'b, 'a> {
    btf: &'b Btf<'a>,
    bytes: &'b [u8],
}

impl Decoder<'_, '_> {
    fn slice(&self, off: u64, len: u64) -> Result<&[u8], DecodeError> {
        let end = off.checked_add(len);
        let range = |e| Some(usize::try_from(off).ok()?..usize::try_from(e).ok()?);
        end.and_then(range)
            .and_then(|r| self.bytes.get(r))
            .ok_or_else(|| DecodeError::Short {
                what: format!("a value at byte {off}"),
                need: end.unwrap_or(u64::MAX),
                got: self.bytes.len(),
            })
    }

    fn value(&self, type_id: u32, off: u64, depth: usize) -> Result<Value, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(DecodeError::Unsupported("a type nested too deeply".into()));
        }
        let t = self
            .btf
            .skip_mods_and_typedefs(type_id)
            .ok_or_else(|| DecodeError::Unsupported(format!("type [{type_id}]")))?;
        match t.kind() {
            Kind::Int => {
                let info = t.int().unwrap_or_default();
                let raw = le_u128(self.slice(off, u64::from(t.size()))?);
                let bits = if info.bits == 0 {
                    t.size() * 8
                } else {
                    u32::from(info.bits)
                };
                // An offset of 128 is valid in a 16-byte INT with 0 bits: nothing left.
                Ok(int_value(
                    raw.checked_shr(u32::from(info.offset)).unwrap_or(0),
                    bits,
                    info.is_signed(),
                    info.is_bool(),
                ))
            }
            Kind::Enum | Kind::Enum64 => {
                let raw = le_u128(self.slice(off, u64::from(t.size()))?);
                Ok(enum_value(t, raw, t.size() * 8))
            }
            Kind::Float => {
                let b = self.slice(off, u64::from(t.size()))?;
                match b.len() {
                    4 => Ok(Value::Float(f64::from(f32::from_le_bytes([
                        b[0], b[1], b[2], b[3],
                    ])))),
                    8 => {
                        let mut a = [0u8; 8];
                        a.copy_from_slice(b);
                        Ok(Value::Float(f64::from_le_bytes(a)))
                    }
                    n => Err(DecodeError::Unsupported(format!("a {n}-byte float"))),
                }
            }
            Kind::Ptr => Ok(Value::Ptr(saturate(le_u128(self.slice(off, 8)?)))),
            Kind::Array => self.array(t, off, depth),
            Kind::Struct | Kind::Union => {
                let mut out = Vec::with_capacity(t.vlen());
                self.members(t, off, depth, &mut out)?;
                Ok(Value::Struct(out))
            }
            _ => Err(DecodeError::Unsupported(type_name(self.btf, type_id))),
        }
    }

    fn array(&self, t: Ty<'_>, off: u64, depth: usize) -> Result<Value, DecodeError> {
        let a = t.array().unwrap_or_default();
        let elem_size = self
            .btf
            .size_of(a.elem)
            .ok_or_else(|| DecodeError::Unsupported(type_name(self.btf, a.elem)))?;
        if is_char(self.btf, a.elem) {
            let b = self.slice(off, u64::from(a.nelems))?;
            let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
            return Ok(Value::Str(String::from_utf8_lossy(&b[..end]).into_owned()));
        }
        // Zero-sized elements hold no bytes: nothing to show, and a crafted count would make
        // billions of empty values.
        if elem_size == 0 {
            return Ok(Value::Array(Vec::new()));
        }
        // Check the whole array once, so a huge nelems fails before allocating.
        self.slice(off, elem_size.saturating_mul(u64::from(a.nelems)))?;
        (0..u64::from(a.nelems))
            .map(|i| self.value(a.elem, off + i * elem_size, depth + 1))
            .collect::<Result<_, _>>()
            .map(Value::Array)
    }

    /// Appends the members of a struct or union. Anonymous struct/union members are
    /// flattened into the parent, as C code names their fields.
    fn members(
        &self,
        t: Ty<'_>,
        off: u64,
        depth: usize,
        out: &mut Vec<(String, Value)>,
    ) -> Result<(), DecodeError> {
        for m in t.members() {
            let moff = off + u64::from(m.bit_offset / 8);
            let target = self.btf.skip_mods_and_typedefs(m.type_id);
            if m.bitfield_size > 0 {
                out.push((m.name.to_string(), self.bitfield(m.type_id, off, m)?));
            } else if m.name.is_empty()
                && target.is_some_and(|t| matches!(t.kind(), Kind::Struct | Kind::Union))
            {
                if let Some(inner) = target {
                    self.members(inner, moff, depth + 1, out)?;
                }
            } else {
                out.push((m.name.to_string(), self.value(m.type_id, moff, depth + 1)?));
            }
        }
        Ok(())
    }

    fn bitfield(
        &self,
        type_id: u32,
        base: u64,
        m: crate::btf::Member<'_>,
    ) -> Result<Value, DecodeError> {
        let bits = u32::from(m.bitfield_size);
        let first = u64::from(m.bit_offset / 8);
        let shift = m.bit_offset % 8;
        let nbytes = (u64::from(shift) + u64::from(bits)).div_ceil(8);
        if nbytes > 16 {
            return Err(DecodeError::Unsupported(
                "a bitfield wider than 120 bits".into(),
            ));
        }
        let raw = le_u128(self.slice(base + first, nbytes)?) >> shift;
        let t = self
            .btf
            .skip_mods_and_typedefs(type_id)
            .ok_or_else(|| DecodeError::Unsupported(format!("type [{type_id}]")))?;
        match t.kind() {
            Kind::Enum | Kind::Enum64 => Ok(enum_value(t, raw, bits)),
            _ => {
                let info = t.int().unwrap_or_default();
                Ok(int_value(raw, bits, info.is_signed(), info.is_bool()))
            }
        }
    }
}

fn le_u128(b: &[u8]) -> u128 {
    b.iter()
        .take(16)
        .rev()
        .fold(0u128, |acc, &x| acc << 8 | u128::from(x))
}

/// Keeps the low `bits` of `raw`, sign-extending when `signed`.
fn int_value(raw: u128, bits: u32, signed: bool, is_bool: bool) -> Value {
    let bits = bits.clamp(1, 128);
    let mask = if bits == 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    };
    let v = raw & mask;
    if is_bool {
        Value::Bool(v != 0)
    } else if signed {
        let shift = 128 - bits;
        Value::Int(((v << shift) as i128) >> shift)
    } else {
        Value::Uint(v)
    }
}

fn enum_value(t: Ty<'_>, raw: u128, bits: u32) -> Value {
    let signed = t.kind_flag();
    let num = match int_value(raw, bits, signed, false) {
        Value::Int(i) => i,
        Value::Uint(u) => u as i128,
        _ => 0,
    };
    // Compare within the enum's width, so 0xffffffff in a 32-bit enum matches -1 too.
    let mask = width_mask(bits);
    let name = t
        .enum_values()
        .find(|e| u128::from(e.bits) & mask == num as u128 & mask)
        .map(|e| e.name.to_string());
    Value::Enum { name, raw: num }
}

fn width_mask(bits: u32) -> u128 {
    if bits >= 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    }
}

/// A `char` array element: a 1-byte INT named `char` or with the CHAR encoding.
fn is_char(btf: &Btf<'_>, id: u32) -> bool {
    btf.skip_mods_and_typedefs(id).is_some_and(|t| {
        t.kind() == Kind::Int
            && t.size() == 1
            && (t.name() == "char" || t.int().is_some_and(|i| i.is_char()))
    })
}

impl Value {
    /// The plain-text form used in table cells.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        self.write(&mut s, Form::Text);
        s
    }

    /// Compact JSON. Objects keep BTF member order; enums print by name, pointers as hex
    /// strings, non-finite floats as null.
    pub fn to_json(&self) -> String {
        let mut s = String::new();
        self.write(&mut s, Form::Json);
        s
    }

    /// The one walk behind both forms; they differ in scalars and separators only.
    fn write(&self, s: &mut String, form: Form) {
        let json = form == Form::Json;
        match self {
            Value::Int(v) => {
                let _ = write!(s, "{v}");
            }
            Value::Uint(v) => {
                let _ = write!(s, "{v}");
            }
            Value::Bool(b) => s.push_str(if *b { "true" } else { "false" }),
            Value::Float(f) if !json => s.push_str(&readable_float(*f)),
            Value::Float(f) if f.is_finite() => {
                let _ = write!(s, "{f:?}");
            }
            Value::Float(_) => s.push_str("null"),
            Value::Enum { name: Some(n), .. } => form.string(s, n),
            Value::Enum { name: None, raw } => {
                let _ = write!(s, "{raw}");
            }
            Value::Str(t) => form.string(s, t),
            Value::Ptr(p) => form.string(s, &format!("0x{p:x}")),
            Value::Array(items) => {
                s.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        s.push_str(form.separator());
                    }
                    v.write(s, form);
                }
                s.push(']');
            }
            Value::Struct(members) => {
                s.push('{');
                for (i, (n, v)) in members.iter().enumerate() {
                    if i > 0 {
                        s.push_str(form.separator());
                    }
                    if json {
                        json_str(s, n);
                        s.push(':');
                    } else {
                        let _ = write!(s, "{n}: ");
                    }
                    v.write(s, form);
                }
                s.push('}');
            }
        }
    }

    /// Every integer in the value, in order (arrays and members flattened); what a
    /// histogram map's value holds.
    pub fn integers(&self, out: &mut Vec<u64>) {
        match self {
            Value::Int(v) => out.push(saturate((*v).max(0))),
            Value::Uint(v) => out.push(saturate(*v)),
            Value::Bool(b) => out.push(u64::from(*b)),
            Value::Enum { raw, .. } => out.push(saturate((*raw).max(0))),
            Value::Array(items) => items.iter().for_each(|v| v.integers(out)),
            Value::Struct(members) => members.iter().for_each(|(_, v)| v.integers(out)),
            Value::Float(_) | Value::Str(_) | Value::Ptr(_) => {}
        }
    }
}

/// How a value is written: a table cell or compact JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    Text,
    Json,
}

impl Form {
    fn separator(self) -> &'static str {
        match self {
            Form::Text => ", ",
            Form::Json => ",",
        }
    }

    /// Strings: quoted and escaped in JSON, control characters as `?` in a table.
    fn string(self, s: &mut String, t: &str) {
        match self {
            Form::Text => s.extend(t.chars().map(|c| if c.is_control() { '?' } else { c })),
            Form::Json => json_str(s, t),
        }
    }
}

/// A float for a table cell: six significant digits, in exponent form when very small or
/// large (a denormal is `5.885454e-44`, not 60 digits).
pub fn readable_float(f: f64) -> String {
    if f == 0.0 || !f.is_finite() {
        return format!("{f}");
    }
    let trim = |t: String| {
        if t.contains('.') {
            t.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            t
        }
    };
    if (1e-4..1e15).contains(&f.abs()) {
        let digits = (5 - f.abs().log10().floor() as i32).clamp(0, 10) as usize;
        trim(format!("{f:.digits$}"))
    } else {
        let t = format!("{f:.5e}");
        match t.split_once('e') {
            Some((m, e)) => format!("{}e{e}", trim(m.to_string())),
            None => t,
        }
    }
}

fn json_str(s: &mut String, t: &str) {
    s.push('"');
    for c in t.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(s, "\\u{:04x}", c as u32);
            }
            c => s.push(c),
        }
    }
    s.push('"');
}

/// Plain-table layout: `TIME     ` then each column name in upper case, a space apart. A
/// column is as wide as its widest possible value (digits of its integer type, longest
/// enumerator, `true`/`false`), strings and nested values start at 16 characters, and a
/// cell that is still wider widens its column from that row on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    columns: Vec<(String, Cell<usize>)>,
}

/// Where a string column starts (a `comm` is 15 characters).
const STR_WIDTH: usize = 16;

impl Table {
    /// Columns named `names`, each at least 6 wide (the runtime's minimum).
    pub fn new<'n>(names: impl IntoIterator<Item = &'n str>) -> Table {
        Table {
            columns: names
                .into_iter()
                .map(|n| (n.to_uppercase(), Cell::new(n.chars().count().max(6))))
                .collect(),
        }
    }

    /// The columns of struct `type_id`, sized by their types.
    pub fn of(btf: &Btf<'_>, type_id: u32) -> Table {
        let cols = columns(btf, type_id);
        if cols.is_empty() {
            return Table::new([type_name(btf, type_id).as_str()]);
        }
        Table {
            columns: cols
                .into_iter()
                .map(|(n, w)| {
                    let name = n.to_uppercase();
                    let w = w.max(name.chars().count());
                    (name, Cell::new(w))
                })
                .collect(),
        }
    }

    pub fn header(&self) -> String {
        let mut s = format!("{:<8} ", "TIME");
        for (name, w) in &self.columns {
            let w = w.get();
            let _ = write!(s, "{name:<w$} ");
        }
        s.truncate(s.trim_end().len());
        s
    }

    /// One event line. `time` is `HH:MM:SS`. Members beyond the header's columns are not
    /// printed; missing ones leave their column empty.
    pub fn row(&self, time: &str, value: &Value) -> String {
        let mut s = format!("{time:<8} ");
        let cells: Vec<String> = match value {
            Value::Struct(m) => m.iter().map(|(_, v)| v.to_text()).collect(),
            // A value that is not a struct fills the first column.
            other => vec![other.to_text()],
        };
        for (i, (_, w)) in self.columns.iter().enumerate() {
            let cell = cells.get(i).map_or("", String::as_str);
            let width = w.get().max(cell.chars().count());
            w.set(width);
            let _ = write!(s, "{cell:<width$} ");
        }
        s.truncate(s.trim_end().len());
        s
    }
}

/// The widest text a value of type `id` prints as, when that is bounded and small.
fn text_width(btf: &Btf<'_>, id: u32) -> usize {
    let Some(t) = btf.skip_mods_and_typedefs(id) else {
        return 6;
    };
    match t.kind() {
        Kind::Int => {
            let info = t.int().unwrap_or_default();
            if info.is_bool() {
                return 5;
            }
            let bits = if info.bits == 0 {
                t.size() * 8
            } else {
                u32::from(info.bits)
            };
            let max = if bits >= 128 {
                u128::MAX
            } else {
                (1u128 << bits) - 1
            };
            let digits = max.to_string().len();
            // A signed type's minimum has as many digits as the unsigned maximum of one
            // bit less, plus the minus sign; never wider than this.
            if info.is_signed() {
                digits + 1
            } else {
                digits
            }
        }
        Kind::Enum | Kind::Enum64 => t
            .enum_values()
            .map(|e| e.name.chars().count())
            .max()
            .unwrap_or(0)
            .max(6),
        Kind::Float => 12,
        Kind::Ptr => 18,
        Kind::Array if t.array().is_some_and(|a| is_char(btf, a.elem)) => t
            .array()
            .map_or(STR_WIDTH, |a| (a.nelems as usize).saturating_sub(1))
            .min(STR_WIDTH),
        _ => STR_WIDTH,
    }
}

/// Column names and widths of a struct, flattened as `decode` flattens it.
fn columns(btf: &Btf<'_>, type_id: u32) -> Vec<(String, usize)> {
    fn walk(btf: &Btf<'_>, t: Ty<'_>, out: &mut Vec<(String, usize)>, depth: usize) {
        for m in t.members() {
            let target = btf.skip_mods_and_typedefs(m.type_id);
            match target {
                Some(inner)
                    if m.name.is_empty()
                        && m.bitfield_size == 0
                        && matches!(inner.kind(), Kind::Struct | Kind::Union)
                        && depth < MAX_DEPTH =>
                {
                    walk(btf, inner, out, depth + 1)
                }
                _ => {
                    let w = if m.bitfield_size > 0 {
                        // A bitfield of n bits: at most n*log10(2)+1 digits and a sign.
                        (usize::from(m.bitfield_size) * 3).div_ceil(10) + 2
                    } else {
                        text_width(btf, m.type_id)
                    };
                    out.push((m.name.to_string(), w))
                }
            }
        }
    }
    let mut out = Vec::new();
    if let Some(t) = btf.skip_mods_and_typedefs(type_id) {
        if matches!(t.kind(), Kind::Struct | Kind::Union) {
            walk(btf, t, &mut out, 0);
        }
    }
    out
}

/// Column names of a decoded struct type: its members, with anonymous members flattened
/// as `decode` does.
pub fn column_names(btf: &Btf<'_>, type_id: u32) -> Vec<String> {
    columns(btf, type_id).into_iter().map(|(n, _)| n).collect()
}

/// Hex dump of a sample with no known type.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
