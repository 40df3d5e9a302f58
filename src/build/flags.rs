//! User clang flags (`-a`, `--`): the include directories they name, and the flags made
//! independent of the working directory, because clang runs in the source's directory.

use std::path::{Path, PathBuf};

/// Options whose value is a path, as `-I dir` or `-Idir`.
const PATH_OPTS: [&str; 7] = [
    "-I",
    "-isystem",
    "-idirafter",
    "-iquote",
    "-include",
    "-imacros",
    "-L",
];
const INCLUDE_DIR_OPTS: [&str; 3] = ["-I", "-isystem", "-idirafter"];

/// Splits `flag` into a path option and its joined value (`-Idir` -> `("-I", "dir")`).
fn joined<'a>(flag: &'a str, opts: &[&'static str]) -> Option<(&'static str, &'a str)> {
    // Longest option first, so `-isystem` is not read as `-i` + `system`.
    let mut sorted = opts.to_vec();
    sorted.sort_by_key(|o| std::cmp::Reverse(o.len()));
    sorted
        .into_iter()
        .find_map(|o| Some((o, flag.strip_prefix(o)?)))
}

/// The directories named by `-I`/`-isystem`/`-idirafter` in user flags (`-I dir` or `-Idir`).
pub fn include_dirs(flags: &[String]) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    let mut it = flags.iter();
    while let Some(f) = it.next() {
        match joined(f, &INCLUDE_DIR_OPTS) {
            Some((_, "")) => dirs.extend(it.next().map(PathBuf::from)),
            Some((_, d)) => dirs.push(PathBuf::from(d)),
            None => {}
        }
    }
    dirs
}

/// The flags with every relative path value made absolute against `cwd`.
pub fn absolutize(flags: &[String], cwd: &Path) -> Vec<String> {
    let abs = |v: &str| {
        if Path::new(v).is_absolute() {
            v.to_string()
        } else {
            crate::build::compile::absolute(Path::new(v), cwd)
                .display()
                .to_string()
        }
    };
    let mut out = Vec::with_capacity(flags.len());
    let mut it = flags.iter();
    while let Some(f) = it.next() {
        match joined(f, &PATH_OPTS) {
            // `-include` also starts `-includeX`, which is `-include X`.
            Some((o, "")) => {
                out.push(o.to_string());
                out.extend(it.next().map(|v| abs(v)));
            }
            Some((o, v)) if !v.starts_with('=') => out.push(format!("{o}{}", abs(v))),
            _ => out.push(f.clone()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::testing::strings;

    #[test]
    fn include_dirs_from_user_flags() {
        let flags = strings(&["-I", "a", "-Ib", "-DX", "-isystem", "c", "-idirafterd"]);
        assert_eq!(
            include_dirs(&flags),
            ["a", "b", "c", "d"].map(PathBuf::from)
        );
    }

    #[test]
    fn relative_paths_become_absolute() {
        let flags = strings(&[
            "-I",
            "inc",
            "-Iinc2",
            "-I/abs",
            "-DX=a/b",
            "-include",
            "x.h",
            "-isystemsys",
        ]);
        assert_eq!(
            absolutize(&flags, Path::new("/w/d")),
            strings(&[
                "-I",
                "/w/d/inc",
                "-I/w/d/inc2",
                "-I/abs",
                "-DX=a/b",
                "-include",
                "/w/d/x.h",
                "-isystem/w/d/sys"
            ])
        );
    }
}
