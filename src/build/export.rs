//! Export types: the structs of the event header, found in the header's text (in header order,
//! because the runtime decodes samples with the first one) and then looked up in the BTF of the
//! compiled object.

use serde::Serialize;

use crate::btf::{Btf, Kind};
use crate::emit::cdecl;

/// One struct the runtime may decode, as package.json's `export_types` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExportType {
    pub name: String,
    pub size: u32,
    pub type_id: u32,
    pub members: Vec<ExportMember>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExportMember {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
}

/// Removes comments, keeping newlines (so line structure survives) and string literals.
pub fn strip_comments(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    // A backslash-newline continues a line comment.
                    if b[i] == b'\\' && b.get(i + 1) == Some(&b'\n') {
                        out.push(b'\n');
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                out.push(b' ');
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    if b[i] == b'\n' {
                        out.push(b'\n');
                    }
                    i += 1;
                }
                i += 2;
            }
            q @ (b'"' | b'\'') => {
                out.push(q);
                i += 1;
                while i < b.len() && b[i] != q && b[i] != b'\n' {
                    if b[i] == b'\\' && i + 1 < b.len() {
                        out.push(b[i]);
                        i += 1;
                    }
                    out.push(b[i]);
                    i += 1;
                }
                if i < b.len() && b[i] == q {
                    out.push(q);
                    i += 1;
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Debug, PartialEq)]
enum Tok<'a> {
    Ident(&'a str),
    Str,
    Punct(u8),
}

fn tokens(code: &str) -> Vec<Tok<'_>> {
    let b = code.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    let mut line_start = true;
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            line_start = true;
            i += 1;
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'#' && line_start {
            // A preprocessor directive, with its continuation lines: not declarations.
            while i < b.len() && b[i] != b'\n' {
                if b[i] == b'\\' && b.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                i += 1;
            }
            continue;
        }
        line_start = false;
        if c.is_ascii_alphabetic() || c == b'_' {
            let s = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            toks.push(Tok::Ident(&code[s..i]));
        } else if c == b'"' || c == b'\'' {
            i += 1;
            while i < b.len() && b[i] != c && b[i] != b'\n' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            toks.push(Tok::Str);
        } else {
            toks.push(Tok::Punct(c));
            i += 1;
        }
    }
    toks
}

/// Names of the structs a header defines at file scope, in the order they appear.
/// `typedef struct name {...} alias;` counts as `name`; anonymous structs have no name the
/// runtime could match, so they are skipped.
pub fn header_structs(header: &str) -> Vec<String> {
    let code = strip_comments(header);
    let toks = tokens(&code);
    let mut names: Vec<String> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        match toks[i] {
            // `extern "C" {` opens no scope for declarations.
            Tok::Ident("extern")
                if toks.get(i + 1) == Some(&Tok::Str)
                    && toks.get(i + 2) == Some(&Tok::Punct(b'{')) =>
            {
                i += 3;
                continue;
            }
            Tok::Punct(b'{') => depth += 1,
            Tok::Punct(b'}') => depth = depth.saturating_sub(1),
            Tok::Ident("struct") if depth == 0 => {
                let mut j = i + 1;
                let mut last_ident = None;
                while j < toks.len() {
                    match toks[j] {
                        Tok::Ident("__attribute__" | "__declspec") => {
                            j = skip_parens(&toks, j + 1);
                            continue;
                        }
                        Tok::Ident(n) => last_ident = Some(n),
                        _ => break,
                    }
                    j += 1;
                }
                if toks.get(j) == Some(&Tok::Punct(b'{')) {
                    if let Some(n) = last_ident {
                        if !names.iter().any(|x| x == n) {
                            names.push(n.to_string());
                        }
                    }
                }
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    names
}

/// Skips one balanced `( ... )` group starting at `j`; returns the index after it.
fn skip_parens(toks: &[Tok<'_>], mut j: usize) -> usize {
    if toks.get(j) != Some(&Tok::Punct(b'(')) {
        return j;
    }
    let mut depth = 0;
    while j < toks.len() {
        match toks[j] {
            Tok::Punct(b'(') => depth += 1,
            Tok::Punct(b')') => {
                depth -= 1;
                if depth == 0 {
                    return j + 1;
                }
            }
            _ => {}
        }
        j += 1;
    }
    j
}

/// The export types for `names` (header order) from the object's BTF. Structs that did not
/// reach BTF as complete STRUCTs (e.g. defined under an `#if` that was false) are returned
/// in the second list.
pub fn export_types(btf: &Btf<'_>, names: &[String]) -> (Vec<ExportType>, Vec<String>) {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for name in names {
        match btf.find(name, Kind::Struct) {
            Some(t) => found.push(ExportType {
                name: name.clone(),
                size: t.size(),
                type_id: t.id,
                members: t
                    .members()
                    .map(|m| ExportMember {
                        name: m.name.to_string(),
                        ty: cdecl::type_name(btf, m.type_id),
                    })
                    .collect(),
            }),
            None => missing.push(name.clone()),
        }
    }
    (found, missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_file_scope_structs_in_order() {
        let h = r#"
#ifndef X_H
#define X_H
#define MAKE(n) struct n { int a; }
/* struct commented { int a; }; */
// struct line_commented { int a; };
#ifdef __cplusplus
extern "C" {
#endif
struct second;            /* a declaration, not a definition */
struct event {
    int pid;
    struct inner { int x; } in;   /* nested: not file scope */
    char s[4];
};
typedef struct stats { long n; } stats_t;
typedef struct { int anon; } anon_t;
struct __attribute__((packed)) packed_one { char c; int i; };
struct second { const char *p; };
union not_a_struct { int a; };
#ifdef __cplusplus
}
#endif
#endif
"#;
        assert_eq!(
            header_structs(h),
            ["event", "stats", "packed_one", "second"]
        );
        assert!(header_structs("enum e { A };\n#define S struct s {\n").is_empty());
    }

    #[test]
    fn comments_go_strings_stay() {
        assert_eq!(
            strip_comments("a /* b\nc */ d // e\n\"/* f */\""),
            "a  \n d \n\"/* f */\""
        );
    }
}
