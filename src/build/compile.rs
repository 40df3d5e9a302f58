//! Running clang: finding it, asking it for its system include directories, building the
//! reproducible BPF command line, the wrapper translation unit that forces the export structs
//! into BTF, and the make-style dependency file.

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};

use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "clang not found in PATH; install clang (Debian: apt install clang) or pass --clang-bin"
    )]
    ClangNotInPath,
    #[error("clang binary {0} does not exist or is not executable")]
    ClangMissing(PathBuf),
    #[error("cannot run {0}")]
    Spawn(PathBuf, #[source] std::io::Error),
    #[error("{0} -v printed no include search list")]
    NoSearchList(PathBuf),
    #[error("clang failed to compile {file} ({status})")]
    Failed { file: String, status: String },
    #[error("clang wrote no object for {0}")]
    NoObject(String),
    #[error("{0}")]
    Io(PathBuf, #[source] std::io::Error),
    #[error("interrupted")]
    Interrupted,
}

/// Finds an executable the way a shell does: names with a `/` are taken as they are, bare
/// names are looked up in `PATH`.
pub fn which(name: &OsStr) -> Option<PathBuf> {
    let p = Path::new(name);
    if p.components().count() > 1 || name.to_string_lossy().contains('/') {
        return is_executable(p).then(|| p.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|d| !d.as_os_str().is_empty())
        .map(|d| d.join(p))
        .find(|c| is_executable(c))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The clang to use: `explicit` when given (a path or a name looked up in PATH), else `clang`.
pub fn find_clang(explicit: Option<&Path>) -> Result<PathBuf, Error> {
    match explicit {
        Some(p) => which(p.as_os_str()).ok_or_else(|| Error::ClangMissing(p.to_path_buf())),
        None => which(OsStr::new("clang")).ok_or(Error::ClangNotInPath),
    }
}

/// The libclang that belongs to `clang` (`<llvm>/bin/clang` -> `<llvm>/lib/libclang.so*`).
/// Loading that exact file spares clang-sys its search of every library directory, which
/// takes ~300 ms, and keeps libclang's version equal to the compiler's.
pub fn libclang_for(clang: &Path) -> Option<PathBuf> {
    let lib = std::fs::canonicalize(clang)
        .ok()?
        .parent()?
        .parent()?
        .join("lib");
    let mut names: Vec<String> = std::fs::read_dir(&lib)
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| {
            n.starts_with("libclang") && !n.starts_with("libclang-cpp") && n.contains(".so")
        })
        .collect();
    // Prefer the unversioned name, then the shortest (libclang.so.1 over libclang-14.so.14.0.6).
    names.sort_by_key(|n| (!n.starts_with("libclang.so"), n.len(), n.clone()));
    names.first().map(|n| lib.join(n))
}

/// What clang tells about itself that the BPF compile needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Toolchain {
    pub clang: PathBuf,
    /// The host's `#include <...>` search list. `-target bpf` does not search the multiarch
    /// directory (`<asm/types.h>`), so these go after everything else with `-idirafter`.
    pub system_includes: Vec<PathBuf>,
    /// clang's resource directory, for libclang (which guesses it from its own location).
    pub resource_dir: Option<PathBuf>,
}

/// A binary's identity without running it: canonical path, size and mtime.
pub(crate) fn tool_identity(tool: &Path) -> Option<Vec<u8>> {
    let meta = std::fs::metadata(tool).ok()?;
    let mtime = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    let canon = std::fs::canonicalize(tool).ok()?;
    let mut id = canon.into_os_string().into_encoded_bytes();
    id.extend(
        format!(
            "\0{}\0{}.{}",
            meta.len(),
            mtime.as_secs(),
            mtime.subsec_nanos()
        )
        .bytes(),
    );
    Some(id)
}

/// Asks `clang -v -E` for its include search list. That costs a process (~25 ms), so the answer
/// is cached under `cache`, keyed by the binary's path, size and mtime.
pub fn probe(clang: &Path, cache: Option<&Path>) -> Result<Toolchain, Error> {
    let key = cache.and_then(|dir| {
        let h = Sha256::digest(tool_identity(clang)?);
        Some(dir.join(format!("clang-{}.txt", &hex(&h)[..32])))
    });
    if let Some(text) = key.as_ref().and_then(|k| std::fs::read_to_string(k).ok()) {
        if let Some(tc) = parse_probe_cache(clang, &text) {
            return Ok(tc);
        }
    }
    let out = Command::new(clang)
        .args(["-v", "-E", "-x", "c", "-o", "/dev/null", "/dev/null"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| Error::Spawn(clang.to_path_buf(), e))?;
    let text = String::from_utf8_lossy(&out.stderr);
    let tc =
        parse_search_list(clang, &text).ok_or_else(|| Error::NoSearchList(clang.to_path_buf()))?;
    if let Some(k) = key {
        // A cache that cannot be written only costs the next run a probe.
        let _ = std::fs::create_dir_all(k.parent().unwrap_or(Path::new(".")))
            .and_then(|_| crate::util::fs::write_atomic(&k, probe_cache_text(&tc).as_bytes()));
    }
    Ok(tc)
}

fn probe_cache_text(tc: &Toolchain) -> String {
    let mut s = String::new();
    if let Some(r) = &tc.resource_dir {
        let _ = writeln!(s, "resource-dir\t{}", r.display());
    }
    for d in &tc.system_includes {
        let _ = writeln!(s, "include\t{}", d.display());
    }
    s
}

fn parse_probe_cache(clang: &Path, text: &str) -> Option<Toolchain> {
    let mut tc = Toolchain {
        clang: clang.to_path_buf(),
        system_includes: Vec::new(),
        resource_dir: None,
    };
    for line in text.lines() {
        match line.split_once('\t')? {
            ("resource-dir", v) => tc.resource_dir = Some(v.into()),
            ("include", v) => tc.system_includes.push(v.into()),
            _ => return None,
        }
    }
    (!tc.system_includes.is_empty()).then_some(tc)
}

/// Reads the `#include <...>` list and `-resource-dir` from `clang -v` output.
pub fn parse_search_list(clang: &Path, text: &str) -> Option<Toolchain> {
    let start = text.find("#include <...> search starts here:")?;
    let rest = &text[start..];
    let end = rest.find("End of search list.")?;
    let system_includes: Vec<PathBuf> = rest[..end]
        .lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.is_empty())
        // macOS marks framework directories; not relevant here but harmless to drop.
        .map(|l| PathBuf::from(l.trim_end_matches(" (framework directory)")))
        .collect();
    let resource_dir = text
        .split_whitespace()
        .skip_while(|w| *w != "-resource-dir")
        .nth(1)
        .map(PathBuf::from);
    (!system_includes.is_empty()).then(|| Toolchain {
        clang: clang.to_path_buf(),
        system_includes,
        resource_dir,
    })
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// `__TARGET_ARCH_*` for libbpf's `bpf_tracing.h`, from a Rust/uname or libbpf arch name.
pub fn target_arch(name: &str) -> Option<&'static str> {
    Some(match name {
        "x86_64" | "x86" | "i686" | "i386" => "x86",
        "aarch64" | "arm64" => "arm64",
        "arm" | "armv7l" => "arm",
        "riscv64" | "riscv" => "riscv",
        "powerpc64" | "powerpc64le" | "ppc64le" | "powerpc" => "powerpc",
        "s390x" | "s390" => "s390",
        "mips" | "mips64" => "mips",
        "sparc64" | "sparc" => "sparc",
        "loongarch64" | "loongarch" => "loongarch",
        "arc" => "arc",
        _ => return None,
    })
}

pub fn host_arch() -> &'static str {
    target_arch(std::env::consts::ARCH).unwrap_or("x86")
}

/// Everything one clang run needs. Paths are as they should appear to clang (relative to the
/// working directory where possible, so that no absolute build path reaches the object).
#[derive(Clone, Debug, Default)]
pub struct Invocation {
    pub arch: String,
    /// Searched for `"..."` includes first, like the directory of the real source file.
    pub source_dir: PathBuf,
    /// Directory holding the generated `vmlinux.h`.
    pub vmlinux_dir: Option<PathBuf>,
    /// An explicit libbpf include directory (holding `bpf/bpf_helpers.h`).
    pub libbpf_include: Option<PathBuf>,
    pub system_includes: Vec<PathBuf>,
    /// User flags (`-a`, `--`), passed through in order.
    pub user_flags: Vec<String>,
    /// `-ffile-prefix-map` pairs: the scratch directory and the source's directory are mapped
    /// away, so no path that depends on where ecc runs reaches the object.
    pub prefix_maps: Vec<(OsString, OsString)>,
    /// A precompiled vmlinux.h to load first.
    pub pch: Option<PathBuf>,
    /// The directory clang runs in (the source's), so the paths it records are relative to it.
    pub cwd: Option<PathBuf>,
    pub input: PathBuf,
    pub output: PathBuf,
    /// Where clang writes the dependency file, if one is wanted.
    pub depfile: Option<PathBuf>,
}

/// The target name clang writes into the dependency file; replaced by the real outputs.
pub const DEP_TARGET: &str = "ECC_DEPFILE_TARGET";

/// The flags that shape how vmlinux.h parses: the ones a precompiled vmlinux.h is built
/// with, and so part of its key.
pub fn header_args(inv: &Invocation) -> Vec<OsString> {
    let mut a: Vec<OsString> = ["-g", "-O2", "-target", "bpf"].map(OsString::from).into();
    a.push(format!("-D__TARGET_ARCH_{}", inv.arch).into());
    for d in inv.vmlinux_dir.iter().chain(&inv.libbpf_include) {
        a.push("-I".into());
        a.push(dir_arg(d));
    }
    a.extend(inv.user_flags.iter().map(OsString::from));
    for d in &inv.system_includes {
        a.push("-idirafter".into());
        a.push(d.into());
    }
    // Reproducibility: no compiler ident, no absolute paths in debug info (and so in BTF).
    a.push("-fno-ident".into());
    a.push("-fdebug-compilation-dir=.".into());
    a
}

/// The flags of the compile up to the input: `header_args` plus the source's own include
/// directories, the path maps and the precompiled header. libclang parses with these too.
pub fn common_args(inv: &Invocation) -> Vec<OsString> {
    let mut a = header_args(inv);
    // The source's directory goes first for "..." includes and before the system's for <...>.
    let at = 5;
    a.splice(at..at, ["-iquote".into(), dir_arg(&inv.source_dir)]);
    let libs =
        2 * (usize::from(inv.vmlinux_dir.is_some()) + usize::from(inv.libbpf_include.is_some()));
    a.splice(
        at + 2 + libs..at + 2 + libs,
        ["-I".into(), dir_arg(&inv.source_dir)],
    );
    for (from, to) in &inv.prefix_maps {
        let mut flag = OsString::from("-ffile-prefix-map=");
        flag.push(from);
        flag.push("=");
        flag.push(to);
        a.push(flag);
    }
    if let Some(pch) = &inv.pch {
        a.push("-include-pch".into());
        a.push(pch.into());
    }
    a
}

/// The clang argument vector (without the program name).
pub fn clang_args(inv: &Invocation) -> Vec<OsString> {
    let mut a = common_args(inv);
    if let Some(dep) = &inv.depfile {
        a.extend(["-MD", "-MF"].map(OsString::from));
        a.push(dep.into());
        a.extend(["-MT", DEP_TARGET].map(OsString::from));
    }
    // The wrapper carries the source's name, which may end in `.h` (--header-only).
    a.extend(["-c", "-x", "c"].map(OsString::from));
    a.push((&inv.input).into());
    a.push("-o".into());
    a.push((&inv.output).into());
    a
}

fn dir_arg(d: &Path) -> OsString {
    if d.as_os_str().is_empty() {
        ".".into()
    } else {
        d.as_os_str().to_os_string()
    }
}

/// Runs clang with its diagnostics going to `stderr`: ours, untouched (`Stdio::inherit()`),
/// so that they reach the user exactly as clang prints them, or a file (see
/// [`diagnostics_file`]) for the caller to show. When `stop` becomes true, clang is killed
/// and the run fails with `Error::Interrupted`.
pub fn run(
    clang: &Path,
    args: &[OsString],
    cwd: Option<&Path>,
    source_display: &str,
    stop: Option<&AtomicBool>,
    stderr: Stdio,
) -> Result<(), Error> {
    let mut cmd = Command::new(clang);
    cmd.args(args).stdin(Stdio::null()).stderr(stderr);
    if let Some(d) = cwd {
        cmd.current_dir(d);
    }
    let status = wait_stoppable(&mut cmd, stop).map_err(|e| match e {
        Waited::Spawn(e) => Error::Spawn(clang.to_path_buf(), e),
        Waited::Stopped => Error::Interrupted,
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::Failed {
            file: source_display.to_string(),
            status: match status.code() {
                Some(c) => format!("exit status {c}"),
                None => "killed by a signal".to_string(),
            },
        })
    }
}

/// A fresh file for clang's diagnostics (a pipe could fill up while we wait for clang), and
/// the flag that keeps them in colour when our stderr is a terminal, where clang would have
/// chosen colour itself.
pub fn diagnostics_file(path: &Path) -> Result<(Stdio, Option<&'static str>), Error> {
    use std::io::IsTerminal as _;
    let file = std::fs::File::create(path).map_err(|e| Error::Io(path.to_path_buf(), e))?;
    let colour = std::io::stderr()
        .is_terminal()
        .then_some("-fcolor-diagnostics");
    Ok((file.into(), colour))
}

pub(crate) enum Waited {
    Spawn(std::io::Error),
    Stopped,
}

/// Spawns `cmd` and waits for it; when `stop` turns true the child is killed and reaped.
pub(crate) fn wait_stoppable(
    cmd: &mut Command,
    stop: Option<&AtomicBool>,
) -> Result<std::process::ExitStatus, Waited> {
    let mut child = cmd.spawn().map_err(Waited::Spawn)?;
    let Some(stop) = stop else {
        return child.wait().map_err(Waited::Spawn);
    };
    loop {
        if stop.load(Ordering::Relaxed) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Waited::Stopped);
        }
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(2)),
            Err(e) => return Err(Waited::Spawn(e)),
        }
    }
}

/// A C string literal body for `s` (quotes, backslashes and control bytes escaped).
fn c_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\{:03o}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Where the generated declarations of the wrapper say they come from. Diagnostics that
/// name it are about ecc's code, not the user's: see `driver`, which then compiles without it.
pub const GENERATED: &str = "<ecc: export structs>";

/// The wrapper translation unit: the user's source verbatim under `#line 1 "<source>"`, so
/// clang's diagnostics name the real file and lines, followed by one unused
/// `const volatile struct X *` global per export struct. Those pointers make clang emit the
/// structs into BTF even when the program only reaches them through `bpf_ringbuf_reserve`.
/// The runtime knows the `__eunomia_dummy_` prefix and hides these globals.
///
/// `header_include` is the path to `#include` before the globals when the source may not have
/// included the header itself; it must be include-guarded. It is included as if from the
/// line after the source's end, so that the header's own errors name only the user's files.
pub fn wrapper_source(
    source_display: &str,
    source: &[u8],
    header_include: Option<&str>,
    structs: &[String],
) -> Vec<u8> {
    let body = source.strip_prefix(b"\xef\xbb\xbf").unwrap_or(source);
    let mut out = format!("#line 1 {}\n", c_quote(source_display)).into_bytes();
    out.extend_from_slice(body);
    if header_include.is_none() && structs.is_empty() {
        return out;
    }
    let mut tail = String::from("\n");
    if let Some(h) = header_include {
        let lines = memchr::memchr_iter(b'\n', body).count();
        let after_end = lines + if body.ends_with(b"\n") { 1 } else { 2 };
        let _ = writeln!(tail, "#line {after_end} {}", c_quote(source_display));
        // A blank line after: an error at the end of input shows it, not this directive.
        let _ = writeln!(tail, "#include {}\n", c_quote(h));
    }
    if !structs.is_empty() {
        let _ = writeln!(tail, "#line 1 {}", c_quote(GENERATED));
    }
    for s in structs {
        let _ = writeln!(
            tail,
            "const volatile struct {s} *__eunomia_dummy_{s}_ptr __attribute__((unused));"
        );
    }
    out.extend_from_slice(tail.as_bytes());
    out
}

/// True when the header protects itself against double inclusion (`#pragma once`, or an
/// `#ifndef X` / `#define X` pair as its first directives), so including it again is safe.
pub fn has_include_guard(header: &str) -> bool {
    let mut directives = crate::build::export::strip_comments(header)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .take(2)
        .collect::<Vec<_>>()
        .into_iter();
    let first = directives.next().unwrap_or_default();
    if first == "#pragma once" {
        return true;
    }
    let second = directives.next().unwrap_or_default();
    match (
        first.strip_prefix("#ifndef "),
        second.strip_prefix("#define "),
    ) {
        (Some(a), Some(b)) => b.split_whitespace().next() == Some(a.trim()),
        _ => false,
    }
}

/// Escapes a path for a make rule the way clang does (spaces, `#`, `$`).
fn make_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            ' ' => out.push_str("\\ "),
            '#' => out.push_str("\\#"),
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out
}

/// Splits the prerequisites of a make rule into unescaped paths.
fn make_tokens(s: &str) -> Vec<String> {
    let mut toks = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some('\n') => {
                    chars.next();
                    if !cur.is_empty() {
                        toks.push(std::mem::take(&mut cur));
                    }
                }
                Some(&n @ (' ' | '#')) => {
                    chars.next();
                    cur.push(n);
                }
                _ => cur.push('\\'),
            },
            '$' if chars.peek() == Some(&'$') => {
                chars.next();
                cur.push('$');
            }
            c if c.is_whitespace() => {
                if !cur.is_empty() {
                    toks.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        toks.push(cur);
    }
    toks
}

/// The files clang read, from its dependency file: each once (by its real path), without
/// the wrapper in `skip[0]` and anything under the `skip` directories (the scratch dir, the
/// vmlinux.h cache), so deleting the cache never breaks `make`. Relative entries are relative
/// to `clang_cwd`; those under `cwd` are given relative to it.
pub fn depfile_inputs(
    clang_dep: &str,
    clang_cwd: &Path,
    skip: &[&Path],
    cwd: &Path,
) -> Vec<PathBuf> {
    let prefix = format!("{DEP_TARGET}:");
    let body = clang_dep
        .trim_start()
        .strip_prefix(&prefix)
        .unwrap_or(clang_dep);
    let mut seen = Vec::new();
    let mut deps = Vec::new();
    for t in make_tokens(body) {
        let abs = absolute(Path::new(&t), clang_cwd);
        if skip.iter().any(|d| abs.starts_with(d)) {
            continue;
        }
        let real = std::fs::canonicalize(&abs).unwrap_or_else(|_| abs.clone());
        if seen.contains(&real) {
            continue;
        }
        seen.push(real);
        let rel = abs.strip_prefix(cwd).map(Path::to_path_buf).unwrap_or(abs);
        deps.push(rel);
    }
    deps
}

/// A make rule: the outputs depend on `deps` (the source first); every other dependency also
/// gets an empty rule of its own, as `-MP` does, so deleting a header does not break the next
/// `make`.
pub fn depfile_text(targets: &[String], deps: &[PathBuf]) -> String {
    let mut out = targets
        .iter()
        .map(|t| make_escape(t))
        .collect::<Vec<_>>()
        .join(" ");
    out.push(':');
    for d in deps {
        out.push_str(" \\\n  ");
        out.push_str(&make_escape(&d.to_string_lossy()));
    }
    out.push('\n');
    for d in deps.iter().skip(1) {
        let _ = writeln!(out, "\n{}:", make_escape(&d.to_string_lossy()));
    }
    out
}

/// `path` relative to `base` (both absolute), lexically: `/a/b/c` from `/a/x` is `../b/c`.
pub fn relative_to(path: &Path, base: &Path) -> PathBuf {
    let p: Vec<Component> = path.components().collect();
    let b: Vec<Component> = base.components().collect();
    let common = p.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if common == 0 {
        return path.to_path_buf();
    }
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &p[common..] {
        out.push(c.as_os_str());
    }
    out
}

/// `path` made absolute against `cwd`, with `.` and `..` removed lexically.
pub fn absolute(path: &Path, cwd: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            c => out.push(c.as_os_str()),
        }
    }
    out
}

/// Reads a file for the driver, naming it in the error.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::Io(path.to_path_buf(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_list_is_parsed() {
        let text =
            "clang -cc1 ... -resource-dir /usr/lib/llvm-14/lib/clang/14.0.6 -internal-isystem x\n\
            #include \"...\" search starts here:\n#include <...> search starts here:\n \
            /usr/lib/llvm-14/lib/clang/14.0.6/include\n /usr/local/include\n \
            /usr/include/x86_64-linux-gnu\n /usr/include\nEnd of search list.\n";
        let tc = parse_search_list(Path::new("clang"), text).unwrap();
        assert_eq!(tc.system_includes.len(), 4);
        assert_eq!(
            tc.system_includes[2],
            PathBuf::from("/usr/include/x86_64-linux-gnu")
        );
        assert_eq!(
            tc.resource_dir,
            Some(PathBuf::from("/usr/lib/llvm-14/lib/clang/14.0.6"))
        );
        let cached = parse_probe_cache(Path::new("clang"), &probe_cache_text(&tc)).unwrap();
        assert_eq!(cached, tc);
        assert!(parse_search_list(Path::new("clang"), "no list").is_none());
    }

    #[test]
    fn wrapper_keeps_source_lines_and_adds_dummies() {
        let w = wrapper_source(
            "dir/a \"b\".bpf.c",
            b"int x;\n",
            Some("/abs/ev.h"),
            &["event".into(), "stats".into()],
        );
        let w = String::from_utf8(w).unwrap();
        assert!(w.starts_with("#line 1 \"dir/a \\\"b\\\".bpf.c\"\nint x;\n"));
        assert!(w.contains("#include \"/abs/ev.h\"\n"));
        assert!(w.contains("const volatile struct event *__eunomia_dummy_event_ptr"));
        assert!(w.contains("const volatile struct stats *__eunomia_dummy_stats_ptr"));
        let plain = wrapper_source("a.c", b"int x;\n", None, &[]);
        assert_eq!(plain, b"#line 1 \"a.c\"\nint x;\n");
    }

    #[test]
    fn include_guards_are_recognised() {
        assert!(has_include_guard(
            "/* c */\n#ifndef FOO_H\n#define FOO_H\nstruct a {int x;};\n#endif\n"
        ));
        assert!(has_include_guard("// x\n#pragma once\nstruct a;"));
        assert!(!has_include_guard("#ifndef FOO_H\n#define BAR_H\n"));
        assert!(!has_include_guard("struct a { int x; };\n"));
    }

    #[test]
    fn depfile_is_rewritten() {
        let dep = "ECC_DEPFILE_TARGET: /tmp/s/w.c /w/testdata/bootstrap.h \\\n  /usr/include/bpf/bpf_helpers.h \\\n  /c/my\\ dir/vmlinux.h \\\n  bootstrap.h\n";
        let deps = depfile_inputs(
            dep,
            Path::new("/w/testdata"),
            &[Path::new("/tmp/s"), Path::new("/c")],
            Path::new("/w"),
        );
        assert_eq!(
            deps,
            ["testdata/bootstrap.h", "/usr/include/bpf/bpf_helpers.h"].map(PathBuf::from)
        );
        let mut all = vec![PathBuf::from("testdata/b.bpf.c")];
        all.extend(deps);
        let out = depfile_text(&["out/b.bpf.o".into(), "out/my pkg.json".into()], &all);
        assert_eq!(
            out,
            "out/b.bpf.o out/my\\ pkg.json: \\\n  testdata/b.bpf.c \\\n  testdata/bootstrap.h \\\n  \
             /usr/include/bpf/bpf_helpers.h\n\ntestdata/bootstrap.h:\n\n/usr/include/bpf/bpf_helpers.h:\n"
        );
    }

    #[test]
    fn paths_are_made_relative() {
        assert_eq!(
            relative_to(Path::new("/a/b/c"), Path::new("/a/x")),
            PathBuf::from("../b/c")
        );
        assert_eq!(
            relative_to(Path::new("/a/b"), Path::new("/a/b")),
            PathBuf::from("")
        );
        assert_eq!(
            absolute(Path::new("../x/./y"), Path::new("/a/b")),
            PathBuf::from("/a/x/y")
        );
    }

    #[test]
    fn arch_names() {
        assert_eq!(target_arch("x86_64"), Some("x86"));
        assert_eq!(target_arch("aarch64"), Some("arm64"));
        assert_eq!(target_arch("vax"), None);
    }
}
