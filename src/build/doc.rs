//! Doc comments (`///`, `/** */`, Doxygen `@key value`) on globals, maps, programs and
//! `LICENSE`, read with libclang loaded at run time. The comment text is parsed here, so the
//! result does not depend on libclang's own Doxygen parser.

use std::collections::BTreeMap;
use std::path::Path;
#[cfg(feature = "docs")]
use std::sync::Mutex;

use serde_json::Value;

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
    /// The source line of each documented variable, for messages.
    pub var_lines: BTreeMap<String, u32>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The detail (where clang-sys looked) is kept for verbose output.
    #[error("libclang could not be loaded, so doc comments are left out; install libclang1-14 (Debian) or set LIBCLANG_PATH")]
    NoLibclang(String),
    #[error("libclang could not parse {0}")]
    Parse(String, #[source] Box<dyn std::error::Error + Send + Sync>),
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

/// Without the `docs` feature (no libclang crate), there are no doc comments.
#[cfg(not(feature = "docs"))]
pub fn extract(
    _source: &Path,
    _args: &[String],
    _pch: Option<&Path>,
) -> Result<(Docs, bool), Error> {
    Err(Error::NotBuilt)
}

/// Reads the doc comments of `source` with libclang. `args` are the clang flags of the
/// compile (include paths, defines), so the file parses as it compiles; `pch` is the
/// compile's precompiled vmlinux.h, which spares libclang parsing it again.
/// The flag says whether the PCH was used.
#[cfg(feature = "docs")]
pub fn extract(source: &Path, args: &[String], pch: Option<&Path>) -> Result<(Docs, bool), Error> {
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
    let with_pch = pch.and_then(|file| {
        let tu = parse(&["-include-pch".to_string(), file.display().to_string()]).ok()?;
        // A PCH that does not fit (it should, by its key) makes a fatal error: parse again.
        let fatal = tu
            .get_diagnostics()
            .iter()
            .any(|d| d.get_severity() == clang::diagnostic::Severity::Fatal);
        (!fatal).then_some(tu)
    });
    let used_pch = with_pch.is_some();
    let tu = match with_pch {
        Some(tu) => tu,
        None => parse(&[]).map_err(|e| Error::Parse(source.display().to_string(), Box::new(e)))?,
    };
    let mut docs = Docs::default();
    for e in tu.get_entity().get_children() {
        // By the name's location: a program's range starts inside the SEC() macro.
        if !e.get_location().is_some_and(|l| l.is_in_main_file()) {
            continue;
        }
        let Some(name) = e.get_name() else { continue };
        if !matches!(
            e.get_kind(),
            clang::EntityKind::VarDecl | clang::EntityKind::FunctionDecl
        ) {
            continue;
        }
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
                if e.get_kind() == clang::EntityKind::VarDecl {
                    let line = e
                        .get_location()
                        .map_or(0, |l| l.get_spelling_location().line);
                    docs.var_lines.insert(name.clone(), line);
                }
                let target = match e.get_kind() {
                    clang::EntityKind::VarDecl => &mut docs.vars,
                    _ => &mut docs.funcs,
                };
                target.insert(name, doc);
            }
        }
    }
    Ok((docs, used_pch))
}

/// Checks the `@cmdarg` annotations as the runtime will (`ecc run` refuses a whole package
/// for one bad option), so the mistake is reported at compile time, at its line: the bad
/// annotation is dropped and a `file:line: ...` warning returned for each.
pub fn check_cmdargs(docs: &mut Docs, file: &str) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut taken: Vec<(String, Option<char>, String)> = Vec::new();
    let mut names: Vec<String> = docs.vars.keys().cloned().collect();
    names.sort_by_key(|n| docs.var_lines.get(n).copied().unwrap_or(0));
    for var in names {
        let Some(doc) = docs.vars.get_mut(&var) else {
            continue;
        };
        let Some(i) = doc.tags.iter().position(|(k, _)| k == "cmdarg") else {
            continue;
        };
        let line = docs.var_lines.get(&var).copied().unwrap_or(0);
        match cmdarg_names(&var, &doc.tags[i].1, &taken) {
            Ok((long, short)) => taken.push((long, short, var.clone())),
            Err(why) => {
                warnings.push(format!(
                    "{file}:{line}: @cmdarg of '{var}': {why}; the annotation is dropped"
                ));
                doc.tags.remove(i);
            }
        }
    }
    warnings
}

/// The option names a `@cmdarg` value gives `var`, or why the runtime would refuse them.
fn cmdarg_names(
    var: &str,
    v: &Value,
    taken: &[(String, Option<char>, String)],
) -> Result<(String, Option<char>), String> {
    let Value::Object(m) = v else {
        return Err(format!("not a JSON object: {v}"));
    };
    let text = |k: &str| match m.get(k) {
        None => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("\"{k}\" must be a string, not {other}")),
    };
    let long = text("long")?.unwrap_or_else(|| var.to_string());
    let long_ok = long
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && long
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !long_ok || long == "help" {
        return Err(format!("--{long} cannot be an option name"));
    }
    let short = match text("short")? {
        None => None,
        Some(s) => {
            let mut cs = s.chars();
            match (cs.next(), cs.next()) {
                (Some(c), None) if c.is_ascii_alphanumeric() && c != 'h' => Some(c),
                (Some(_), None) => return Err(format!("-{s} cannot be an option name")),
                _ => return Err(format!("\"short\" must be one character, not \"{s}\"")),
            }
        }
    };
    for (l, sh, other) in taken {
        if *l == long {
            return Err(format!("--{long} is already the option of '{other}'"));
        }
        if short.is_some() && *sh == short {
            return Err(format!(
                "-{} is already the option of '{other}'",
                short.unwrap_or('?')
            ));
        }
    }
    Ok((long, short))
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
    fn bad_cmdargs_are_dropped_with_their_line() {
        let mut docs = Docs::default();
        let cases = [
            ("a_ok", r#"{"short": "p", "long": "pid"}"#),
            ("b_json", r#"{"short": "x", "#),
            ("c_short", r#"{"short": "pp"}"#),
            ("d_same", r#"{"long": "pid"}"#),
            ("e_help", r#"{"long": "help"}"#),
            ("f_same_short", r#"{"short": "p", "long": "other"}"#),
        ];
        for (i, (var, cmdarg)) in cases.iter().enumerate() {
            docs.vars.insert(
                var.to_string(),
                parse_comment(&format!("/// @cmdarg {cmdarg}")),
            );
            docs.var_lines.insert(var.to_string(), 10 + i as u32);
        }
        let w = check_cmdargs(&mut docs, "x.bpf.c");
        assert_eq!(w.len(), 5, "{w:#?}");
        assert!(
            w[0].starts_with("x.bpf.c:11: @cmdarg of 'b_json': not a JSON object"),
            "{}",
            w[0]
        );
        assert!(
            w[1].contains("x.bpf.c:12") && w[1].contains("one character"),
            "{}",
            w[1]
        );
        assert!(
            w[2].contains("--pid is already the option of 'a_ok'"),
            "{}",
            w[2]
        );
        assert!(w[3].contains("--help cannot be"), "{}", w[3]);
        assert!(
            w[4].contains("-p is already the option of 'a_ok'"),
            "{}",
            w[4]
        );
        assert!(docs.vars["a_ok"].tags.iter().any(|(k, _)| k == "cmdarg"));
        assert!(!docs.vars["b_json"].tags.iter().any(|(k, _)| k == "cmdarg"));
    }

    #[test]
    fn repeated_tag_keeps_last() {
        let d = parse_comment("/// @ifindex 1\n/// @ifindex 2");
        assert_eq!(d.tags, vec![("ifindex".to_string(), json!(2))]);
    }
}
