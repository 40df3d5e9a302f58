//! The program options `ecc run` generates from a package's data sections, as the eunomia
//! runtime does: one option per `.rodata`/`.bss` (and `.data`) variable, named by `cmdarg.long` or the
//! variable, with `cmdarg.short`, a default from `cmdarg.default` or `value`, help from
//! `description`, and bools as flags. Values are encoded by the variable's BTF type.

use clap::{Arg, ArgAction, Command};

use super::input::{Meta, VarMeta};
use crate::btf::{Btf, Kind};
use crate::elf::object::{DataKind, DataSection, Object, Variable};

/// One generated option and the variable it sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptSpec {
    pub var: String,
    /// `.rodata`, `.bss`, `.data` or a custom data section.
    pub section: String,
    pub long: String,
    pub short: Option<char>,
    pub default: Option<String>,
    /// The variable's value in the object (zero in `.bss`), shown in the help when there is
    /// no `default`.
    pub initial: Option<String>,
    pub help: String,
    pub is_flag: bool,
    /// C type text for the help's value name.
    pub type_text: String,
    pub type_id: u32,
    pub offset: u32,
    pub size: u32,
}

/// Bytes to place into a section's initial value before load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assign {
    pub var: String,
    pub section: String,
    pub offset: u32,
    pub bytes: Vec<u8>,
}

/// Variables the runtime hides: ecc's and the original ecc's helpers that force export
/// structs into BTF.
pub fn hidden(name: &str) -> bool {
    name.starts_with("__eunomia_dummy") || name.starts_with("__ecc")
}

/// Builds the option list from package metadata, or from the object alone (every
/// `.rodata`/`.bss` variable, named after itself) when there is none.
pub fn specs(model: &Object<'_>, meta: Option<&Meta>) -> Result<Vec<OptSpec>, String> {
    let mut out = Vec::new();
    // Every global-data section libbpf maps and lets us set before load: `.rodata`, `.bss`
    // and, beyond the runtime (which refuses them), `.data` and custom `.data.*`/`.rodata.*`
    // sections. `.kconfig` externs are libbpf's to fill in from the running kernel.
    let settable = |name: &str| {
        model.datasecs.iter().any(|d| {
            d.name == name && matches!(d.kind, DataKind::Rodata | DataKind::Bss | DataKind::Data)
        })
    };
    match meta {
        Some(m) => {
            for sec in m
                .bpf_skel
                .data_sections
                .iter()
                .filter(|s| settable(&s.name))
            {
                for v in sec.variables.iter().filter(|v| !hidden(&v.name)) {
                    if let Some(spec) = from_meta(model, &sec.name, v)? {
                        out.push(spec);
                    }
                }
            }
        }
        None => {
            for sec in model.datasecs.iter().filter(|s| settable(&s.name)) {
                for v in sec.vars.iter().filter(|v| !hidden(&v.name)) {
                    let Some(is_flag) = encodable(&model.btf, v.type_id) else {
                        continue;
                    };
                    let type_text = c_type(&model.btf, v.type_id);
                    out.push(OptSpec {
                        var: v.name.clone(),
                        section: sec.name.clone(),
                        long: v.name.clone(),
                        short: None,
                        default: None,
                        initial: initial_text(model, sec, v),
                        help: format!("set {} {}", type_text, v.name),
                        is_flag,
                        type_text,
                        type_id: v.type_id,
                        offset: v.offset,
                        size: v.size,
                    });
                }
            }
        }
    }
    check_names(&out)?;
    Ok(out)
}

fn from_meta(model: &Object<'_>, section: &str, v: &VarMeta) -> Result<Option<OptSpec>, String> {
    let (sec, var) = model
        .datasecs
        .iter()
        .find(|s| s.name == section)
        .and_then(|s| Some((s, s.vars.iter().find(|x| x.name == v.name)?)))
        .ok_or_else(|| {
            format!(
                "variable '{}' of {section} is not in the object's {section}",
                v.name
            )
        })?;
    let Some(is_flag) = encodable(&model.btf, var.type_id) else {
        return Ok(None);
    };
    let cmd = v.cmdarg().ok().flatten().unwrap_or_default();
    let short = match cmd.short.as_deref() {
        None | Some("") => None,
        Some(s) => {
            let mut cs = s.chars();
            match (cs.next(), cs.next()) {
                (Some(c), None) => Some(c),
                _ => {
                    return Err(format!(
                        "variable '{}': cmdarg.short must be one character, not '{s}'",
                        v.name
                    ))
                }
            }
        }
    };
    let default = cmd
        .default
        .as_ref()
        .or(v.value())
        .map(json_text)
        .transpose()
        .map_err(|e| format!("variable '{}': {e}", v.name))?;
    let type_text = if v.ty.is_empty() {
        c_type(&model.btf, var.type_id)
    } else {
        v.ty.clone()
    };
    // As the runtime does: `@cmdarg`'s help first, then the doc comment.
    let help = cmd
        .help
        .clone()
        .filter(|h| !h.is_empty())
        .or_else(|| v.description.clone().filter(|d| !d.is_empty()))
        .unwrap_or_else(|| format!("set {type_text} {}", v.name));
    let spec = OptSpec {
        var: v.name.clone(),
        section: section.to_string(),
        long: cmd
            .long
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| v.name.clone()),
        short,
        default,
        initial: initial_text(model, sec, var),
        help,
        is_flag,
        type_text,
        type_id: var.type_id,
        offset: var.offset,
        size: var.size,
    };
    // A default the variable cannot hold is a package error, caught before anything loads.
    if let Some(d) = &spec.default {
        encode(&model.btf, spec.type_id, spec.size, d)
            .map_err(|e| format!("variable '{}': default '{d}': {e}", v.name))?;
    }
    Ok(Some(spec))
}

/// The variable's value as the object holds it, as a table cell prints it; `None` when it
/// cannot be read or is too big to be worth showing.
fn initial_text(model: &Object<'_>, sec: &DataSection, var: &Variable) -> Option<String> {
    const MAX_SHOWN: usize = 256;
    let size = usize::try_from(var.size).ok().filter(|&n| n <= MAX_SHOWN)?;
    let bytes = match (sec.kind, sec.file_offset) {
        (DataKind::Bss, _) => vec![0; size],
        (_, Some(base)) => {
            let start = usize::try_from(base)
                .ok()?
                .checked_add(usize::try_from(var.offset).ok()?)?;
            model.data.get(start..start.checked_add(size)?)?.to_vec()
        }
        (_, None) => return None,
    };
    super::decode::decode(&model.btf, var.type_id, &bytes)
        .ok()
        .map(|v| v.to_text())
}

fn json_text(v: &serde_json::Value) -> Result<String, String> {
    match v {
        serde_json::Value::String(s) => Ok(s.clone()),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        serde_json::Value::Bool(b) => Ok(b.to_string()),
        other => Err(format!(
            "default value {other} is not a number, string or bool"
        )),
    }
}

/// Rejects names clap would refuse (or panic on) with a message naming the variable.
fn check_names(specs: &[OptSpec]) -> Result<(), String> {
    for (i, s) in specs.iter().enumerate() {
        let ok = s
            .long
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
            && s.long
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !ok || s.long == "help" {
            return Err(format!(
                "variable '{}': bad option name '--{}'",
                s.var, s.long
            ));
        }
        if let Some(c) = s.short {
            if !c.is_ascii_alphanumeric() || c == 'h' {
                return Err(format!("variable '{}': bad short option '-{c}'", s.var));
            }
        }
        // A bool also takes --enable-X, --disable-X and --no-X.
        let longs = |o: &OptSpec| {
            let mut v = vec![o.long.clone()];
            if o.is_flag {
                v.push(format!("enable-{}", o.long));
                v.push(format!("disable-{}", o.long));
                v.push(format!("no-{}", o.long));
            }
            v
        };
        for other in &specs[..i] {
            if longs(other).iter().any(|l| longs(s).contains(l)) {
                return Err(format!(
                    "variables '{}' and '{}' both use --{}",
                    other.var, s.var, s.long
                ));
            }
            if s.short.is_some() && other.short == s.short {
                return Err(format!(
                    "variables '{}' and '{}' both use -{}",
                    other.var,
                    s.var,
                    s.short.unwrap_or('?')
                ));
            }
        }
    }
    Ok(())
}

/// The clap command for a program's options. `about` is the program's own description
/// (`@brief`, `@details`, `@version` of its LICENSE doc comment).
pub fn command(program: &str, usage_name: &str, about: Option<&str>, specs: &[OptSpec]) -> Command {
    let head = format!("Options of the BPF program '{program}' (set before load)");
    let mut cmd = Command::new(program.to_string())
        .no_binary_name(true)
        // Given twice, the last value wins, as among a bool's forms.
        .args_override_self(true)
        .bin_name(usage_name.to_string())
        .about(match about {
            Some(a) => format!("{a}\n\n{head}"),
            None => head,
        });
    for s in specs {
        let mut a = Arg::new(s.var.clone())
            .long(s.long.clone())
            .help(s.help.clone());
        if let Some(c) = s.short {
            a = a.short(c);
        }
        if s.is_flag {
            // `--X` alone is true; `--X=BOOL` or `--X BOOL` (true/false, yes/no, on/off,
            // 1/0) sets either value.
            a = a
                .action(ArgAction::Set)
                .num_args(0..=1)
                .value_name("BOOL")
                .default_missing_value("true")
                .value_parser(clap::builder::BoolishValueParser::new());
            if let Some(d) = s.default.as_ref().or(s.initial.as_ref()) {
                a = a.help(format!("{} [default: {d}]", s.help));
            }
            // The runtime's forms for bools: --enable-X and --disable-X (also --no-X); the
            // last of all the forms wins.
            let (en, dis) = (enable_id(&s.var), disable_id(&s.var));
            cmd = cmd
                .arg(
                    Arg::new(en.clone())
                        .long(format!("enable-{}", s.long))
                        .action(ArgAction::SetTrue)
                        .help(format!("set {} to true", s.long))
                        .overrides_with_all([s.var.clone(), dis.clone()]),
                )
                .arg(
                    Arg::new(dis.clone())
                        .long(format!("disable-{}", s.long))
                        .alias(format!("no-{}", s.long))
                        .action(ArgAction::SetTrue)
                        .help(format!("set {} to false (also --no-{})", s.long, s.long))
                        .overrides_with_all([s.var.clone(), en.clone()]),
                );
            a = a.overrides_with_all([dis, en]);
        } else {
            a = a
                .action(ArgAction::Set)
                .value_name(s.type_text.clone())
                .allow_hyphen_values(true);
            match (&s.default, &s.initial) {
                (Some(d), _) => a = a.default_value(d.clone()),
                // Only shown: left unset, the variable keeps the object's value.
                (None, Some(i)) => a = a.help(format!("{} [default: {i}]", s.help)),
                (None, None) => {}
            }
        }
        cmd = cmd.arg(a);
    }
    cmd
}

/// Parses program options. `Err` carries clap's error (help requests included) or a value
/// that does not fit its variable.
pub fn parse(
    btf: &Btf<'_>,
    program: &str,
    usage_name: &str,
    about: Option<&str>,
    specs: &[OptSpec],
    args: &[String],
) -> Result<Vec<Assign>, ParseError> {
    let m = command(program, usage_name, about, specs)
        .try_get_matches_from(args)
        .map_err(ParseError::Clap)?;
    let mut out = Vec::new();
    for s in specs {
        let text = if s.is_flag {
            // The forms override each other, so at most one of them is present.
            if m.get_flag(&disable_id(&s.var)) {
                Some("false".to_string())
            } else if m.get_flag(&enable_id(&s.var)) {
                Some("true".to_string())
            } else if let Some(b) = m.get_one::<bool>(&s.var) {
                Some(b.to_string())
            } else {
                s.default.clone()
            }
        } else {
            m.get_one::<String>(&s.var).cloned()
        };
        let Some(text) = text else { continue };
        let bytes = encode(btf, s.type_id, s.size, &text).map_err(|e| {
            ParseError::Value(format!("invalid value '{text}' for '--{}': {e}", s.long))
        })?;
        out.push(Assign {
            var: s.var.clone(),
            section: s.section.clone(),
            offset: s.offset,
            bytes,
        });
    }
    Ok(out)
}

fn enable_id(var: &str) -> String {
    format!("{var}#enable")
}

fn disable_id(var: &str) -> String {
    format!("{var}#disable")
}

#[derive(Debug)]
pub enum ParseError {
    Clap(clap::Error),
    Value(String),
}

/// `Some(is_flag)` for types an option can set: integers, bools, enums, floats, char arrays.
fn encodable(btf: &Btf<'_>, type_id: u32) -> Option<bool> {
    let t = btf.skip_mods_and_typedefs(type_id)?;
    match t.kind() {
        Kind::Int => Some(t.int().is_some_and(|i| i.is_bool())),
        Kind::Enum | Kind::Enum64 | Kind::Float => Some(false),
        Kind::Array => {
            let a = t.array()?;
            let e = btf.skip_mods_and_typedefs(a.elem)?;
            (e.kind() == Kind::Int && e.size() == 1).then_some(false)
        }
        _ => None,
    }
}

/// A short C spelling of a type for help text (`unsigned int`, `char[16]`, `enum e`).
fn c_type(btf: &Btf<'_>, type_id: u32) -> String {
    let Some(t) = btf.ty(type_id) else {
        return "?".into();
    };
    match t.kind() {
        Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag => c_type(btf, t.type_id()),
        Kind::Array => {
            let a = t.array().unwrap_or_default();
            format!("{}[{}]", c_type(btf, a.elem), a.nelems)
        }
        Kind::Enum | Kind::Enum64 => format!("enum {}", t.name()),
        _ => t.name().to_string(),
    }
}

/// Encodes option text as the bytes of a `size`-byte variable of BTF type `type_id`.
pub fn encode(btf: &Btf<'_>, type_id: u32, size: u32, text: &str) -> Result<Vec<u8>, String> {
    let t = btf
        .skip_mods_and_typedefs(type_id)
        .ok_or_else(|| format!("unknown type [{type_id}]"))?;
    let size = size as usize;
    match t.kind() {
        Kind::Int if t.int().is_some_and(|i| i.is_bool()) => {
            let v = match text {
                "true" | "1" => 1u8,
                "false" | "0" => 0,
                _ => return Err("expected true or false".into()),
            };
            let mut b = vec![0u8; size];
            if let Some(first) = b.first_mut() {
                *first = v;
            }
            Ok(b)
        }
        Kind::Int => {
            let signed = t.int().is_some_and(|i| i.is_signed());
            int_bytes(text, size, signed)
        }
        Kind::Enum | Kind::Enum64 => {
            if let Some(e) = t.enum_values().find(|e| e.name == text) {
                let mut b = u128::from(e.bits).to_le_bytes().to_vec();
                b.truncate(size);
                return Ok(b);
            }
            let names: Vec<&str> = t.enum_values().map(|e| e.name).collect();
            let expected = || format!("expected one of {} or its value", names.join(", "));
            let b = int_bytes(text, size, true)
                .or_else(|_| int_bytes(text, size, false))
                .map_err(|_| expected())?;
            // Only the enum's own values: anything else is out of range.
            let mask = if size >= 16 {
                u128::MAX
            } else {
                (1u128 << (size * 8)) - 1
            };
            let raw = b
                .iter()
                .rev()
                .fold(0u128, |acc, &x| acc << 8 | u128::from(x));
            if t.enum_values().any(|e| u128::from(e.bits) & mask == raw) {
                Ok(b)
            } else {
                Err(expected())
            }
        }
        Kind::Float => {
            let v: f64 = text
                .trim()
                .parse()
                .map_err(|_| "expected a number".to_string())?;
            match size {
                4 => Ok((v as f32).to_le_bytes().to_vec()),
                8 => Ok(v.to_le_bytes().to_vec()),
                _ => Err(format!("cannot set a {size}-byte float")),
            }
        }
        Kind::Array => {
            if text.len() > size {
                return Err(format!("longer than {size} bytes"));
            }
            let mut b = text.as_bytes().to_vec();
            b.resize(size, 0);
            Ok(b)
        }
        _ => Err("this type cannot be set from the command line".into()),
    }
}

/// Parses a decimal or 0x-hex integer and checks it fits `size` bytes.
fn int_bytes(text: &str, size: usize, signed: bool) -> Result<Vec<u8>, String> {
    let s = text.trim();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let mag = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(h) => u128::from_str_radix(h, 16),
        None => digits.parse::<u128>(),
    }
    .map_err(|_| "expected an integer".to_string())?;
    let bits = (size * 8).min(128) as u32;
    let v: u128 = if neg {
        if !signed {
            return Err("expected a non-negative integer".into());
        }
        let limit = 1u128 << (bits - 1);
        if mag > limit {
            return Err(format!("out of range for a {bits}-bit integer"));
        }
        mag.wrapping_neg()
    } else {
        let limit = if signed {
            (1u128 << (bits - 1)) - 1
        } else if bits == 128 {
            u128::MAX
        } else {
            (1u128 << bits) - 1
        };
        if mag > limit {
            return Err(format!("out of range for a {bits}-bit integer"));
        }
        mag
    };
    let mut b = v.to_le_bytes().to_vec();
    b.truncate(size);
    Ok(b)
}

#[cfg(test)]
#[path = "options_tests.rs"]
mod tests;
