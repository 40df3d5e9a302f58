//! Doc comments (`///`, `/** */`, Doxygen `@key value`) on globals, maps, programs and
//! `LICENSE`, read with libclang loaded at run time. The comment text is parsed here, so the
//! result does not depend on libclang's own Doxygen parser.

use std::collections::BTreeMap;
use std::path::PathBuf;
#[cfg(feature = "docs")]
use std::sync::Mutex;

use serde_json::Value;
#[cfg(feature = "docs")]
use sha2::{Digest, Sha256};

/// One parsed doc comment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Doc {
    /// The plain text, all lines joined with single spaces.
    pub description: Option<String>,
    /// `@key value` tags in comment order; a repeated key keeps its last value. Values that
    /// parse as JSON are JSON, others are strings; a bare `@key` is `true`.
    pub tags: Vec<(String, Value)>,
}

/// The doc comments of one source file, by declaration name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Docs {
    /// Global variables and maps (a map's comment sits on its anonymous struct).
    pub vars: BTreeMap<String, Doc>,
    /// Functions (programs).
    pub funcs: BTreeMap<String, Doc>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The detail (where clang-sys looked) is kept for verbose output.
    #[error("libclang could not be loaded, so doc comments are left out; install libclang1-14 (Debian) or set LIBCLANG_PATH")]
    NoLibclang(String),
    #[error("libclang could not parse {0}: {1}")]
    Parse(String, String),
    #[error("ecc was built without the `docs` feature, so doc comments are left out")]
    NotBuilt,
}

/// Strips the comment markers of a raw comment and returns its lines.
fn comment_lines(raw: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for line in raw.lines() {
        let mut l = line.trim();
        if let Some(rest) = l.strip_prefix("///").or_else(|| l.strip_prefix("//!")) {
            l = rest;
        } else if let Some(rest) = l.strip_prefix("//") {
            l = rest;
        } else {
            if let Some(rest) = l.strip_prefix("/**").or_else(|| l.strip_prefix("/*!")) {
                l = rest;
            } else if let Some(rest) = l.strip_prefix("/*") {
                l = rest;
            }
            if let Some(rest) = l.strip_suffix("*/") {
                l = rest;
            }
            let t = l.trim_start();
            if let Some(rest) = t.strip_prefix('*') {
                l = rest;
            }
        }
        lines.push(l.trim().to_string());
    }
    lines
}

/// Parses a raw comment: text lines make the description; a line starting with `@key` or
/// `\key` starts a tag whose value runs on over the following lines up to a blank line or the
/// next tag.
pub fn parse_comment(raw: &str) -> Doc {
    let mut desc: Vec<String> = Vec::new();
    let mut tags: Vec<(String, Vec<String>)> = Vec::new();
    let mut in_tag = false;
    for line in comment_lines(raw) {
        if line.is_empty() {
            in_tag = false;
            continue;
        }
        let tag = line
            .strip_prefix('@')
            .or_else(|| line.strip_prefix('\\'))
            .map(|rest| {
                let key_len = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                    .unwrap_or(rest.len());
                (&rest[..key_len], rest[key_len..].trim())
            })
            .filter(|(k, _)| !k.is_empty());
        match tag {
            Some((key, value)) => {
                tags.retain(|(k, _)| k != key);
                let first = if value.is_empty() {
                    vec![]
                } else {
                    vec![value.to_string()]
                };
                tags.push((key.to_string(), first));
                in_tag = true;
            }
            None if in_tag => {
                if let Some((_, v)) = tags.last_mut() {
                    v.push(line);
                }
            }
            None => desc.push(line),
        }
    }
    let mut doc = Doc {
        description: (!desc.is_empty()).then(|| desc.join(" ")),
        tags: Vec::new(),
    };
    for (key, lines) in tags {
        let text = lines.join(" ");
        if key == "description" {
            let d = doc
                .description
                .take()
                .map_or(text.clone(), |d| format!("{d} {text}"));
            doc.description = Some(d);
            continue;
        }
        let value = if lines.is_empty() {
            Value::Bool(true)
        } else {
            serde_json::from_str::<Value>(&lines.join("\n")).unwrap_or(Value::String(text))
        };
        doc.tags.push((key, value));
    }
    doc
}

/// libclang allows one `Clang` per process at a time; builds running in parallel (tests,
/// a library user) take turns.
#[cfg(feature = "docs")]
static LIBCLANG: Mutex<()> = Mutex::new(());

/// A header to parse once into a precompiled header, reused by later runs.
///
/// Parsing vmlinux.h is most of the work of a doc-comment parse (~200 ms of CPU); loading
/// it from a PCH takes ~10 ms. The PCH is built by the same libclang that reads it, so
/// versions always match, and is keyed by that version and the flags that shape it.
#[derive(Clone, Debug)]
pub struct Pch {
    /// The header (vmlinux.h in the cache); the PCH goes next to it.
    pub header: PathBuf,
    /// Flags that change how the header parses (target, defines, user flags).
    pub key_args: Vec<String>,
}

/// Without the `docs` feature (no libclang crate), there are no doc comments.
#[cfg(not(feature = "docs"))]
pub fn extract(_source: &str, _args: &[String], _pch: Option<&Pch>) -> Result<Docs, Error> {
    Err(Error::NotBuilt)
}

/// Reads the doc comments of `source` with libclang. `args` are the clang flags of the
/// compile (include paths, defines), so the file parses as it compiles.
#[cfg(feature = "docs")]
pub fn extract(source: &str, args: &[String], pch: Option<&Pch>) -> Result<Docs, Error> {
    let _turn = LIBCLANG.lock().unwrap_or_else(|p| p.into_inner());
    let clang = clang::Clang::new().map_err(Error::NoLibclang)?;
    // Declarations from the PCH are not visited: only the source's own are of interest.
    let index = clang::Index::new(&clang, true, false);
    let parse = |extra: &[String]| {
        let mut a = args.to_vec();
        a.extend_from_slice(extra);
        index
            .parser(source)
            .arguments(&a)
            .skip_function_bodies(true)
            .parse()
    };
    let with_pch = pch
        .and_then(|p| precompiled(&index, args, p))
        .and_then(|file| {
            let tu = parse(&["-include-pch".to_string(), file.display().to_string()]).ok()?;
            // A PCH that does not fit (it should, by its key) makes a fatal error: parse again.
            let fatal = tu
                .get_diagnostics()
                .iter()
                .any(|d| d.get_severity() == clang::diagnostic::Severity::Fatal);
            (!fatal).then_some(tu)
        });
    let tu = match with_pch {
        Some(tu) => tu,
        None => parse(&[]).map_err(|e| Error::Parse(source.to_string(), e.to_string()))?,
    };
    let mut docs = Docs::default();
    for e in tu.get_entity().get_children() {
        // By the name's location: a program's range starts inside the SEC() macro.
        if !e.get_location().is_some_and(|l| l.is_in_main_file()) {
            continue;
        }
        let Some(name) = e.get_name() else { continue };
        let target = match e.get_kind() {
            clang::EntityKind::VarDecl => &mut docs.vars,
            clang::EntityKind::FunctionDecl => &mut docs.funcs,
            _ => continue,
        };
        // `/// doc` above `struct { ... } name SEC(".maps");` belongs to the anonymous struct.
        let raw = e.get_comment().or_else(|| {
            e.get_type()?
                .get_declaration()
                .filter(|d| d.is_anonymous() && d.is_in_main_file())?
                .get_comment()
        });
        if let Some(raw) = raw {
            let doc = parse_comment(&raw);
            if doc != Doc::default() {
                target.insert(name, doc);
            }
        }
    }
    Ok(docs)
}

/// The PCH for `pch.header`, built on first use. `None` when it cannot be built or written;
/// the caller then parses without it.
#[cfg(feature = "docs")]
fn precompiled(index: &clang::Index<'_>, args: &[String], pch: &Pch) -> Option<PathBuf> {
    let mut h = Sha256::new();
    h.update(clang::get_version().as_bytes());
    for a in &pch.key_args {
        h.update(b"\0");
        h.update(a.as_bytes());
    }
    let key = crate::build::compile::hex(&h.finalize());
    let dir = pch.header.parent()?;
    let file = dir.join(format!("vmlinux-{}.pch", &key[..16]));
    if file.is_file() {
        return Some(file);
    }
    let mut a = args.to_vec();
    a.extend(["-x".to_string(), "c-header".to_string()]);
    let tu = index
        .parser(&pch.header)
        .arguments(&a)
        .incomplete(true)
        .parse()
        .ok()?;
    let tmp = tempfile::Builder::new()
        .prefix(".ecc-pch-")
        .tempfile_in(dir)
        .ok()?;
    tu.save(tmp.path()).ok()?;
    tmp.persist(&file).ok()?;
    Some(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn multi_line_description_is_joined() {
        let d = parse_comment(
            "/// minimum duration\n/// in nanoseconds\n///\n/// @cmdarg {\"short\": \"d\"}",
        );
        assert_eq!(
            d.description.as_deref(),
            Some("minimum duration in nanoseconds")
        );
        assert_eq!(d.tags, vec![("cmdarg".to_string(), json!({"short": "d"}))]);
    }

    #[test]
    fn block_comment_tags() {
        let d = parse_comment(
            "/**\n * @brief test program\n *   for globals\n * @version 0.1\n * @author ecc team\n * @flag\n * @tcopts {\"handle\": 1,\n *          \"priority\": 1}\n */",
        );
        assert_eq!(d.description, None);
        assert_eq!(
            d.tags,
            vec![
                ("brief".to_string(), json!("test program for globals")),
                ("version".to_string(), json!(0.1)),
                ("author".to_string(), json!("ecc team")),
                ("flag".to_string(), json!(true)),
                ("tcopts".to_string(), json!({"handle": 1, "priority": 1})),
            ]
        );
    }

    #[test]
    fn text_after_blank_line_is_description_again() {
        let d = parse_comment("/// @sample {\"interval\": 1000}\n///\n/// histogram of run times\n/// @description in usecs");
        assert_eq!(
            d.description.as_deref(),
            Some("histogram of run times in usecs")
        );
        assert_eq!(
            d.tags,
            vec![("sample".to_string(), json!({"interval": 1000}))]
        );
    }

    #[test]
    fn repeated_tag_keeps_last() {
        let d = parse_comment("/// @ifindex 1\n/// @ifindex 2");
        assert_eq!(d.tags, vec![("ifindex".to_string(), json!(2))]);
    }
}
