//! The `ecc` compile: source (+ event header) -> `<name>.bpf.o`, `<name>.skel.json`,
//! `package.json` and, on request, `ewasm-skel.h` and a dependency file.
//!
//! Everything is computed in memory and written at the end as one group of atomic renames,
//! so a failed run leaves no output and no temp file behind. The doc-comment parse (libclang)
//! runs on its own thread while clang compiles, so it adds no wall time.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::build::compile::{self, Invocation, Toolchain};
use crate::build::doc::{self, Docs};
use crate::build::export;
use crate::build::vmlinux;
use crate::elf::object::Object;
use crate::elf::strip;
use crate::model::package;

/// What to compile and how; the CLI's options, resolved.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub source: PathBuf,
    pub header: Option<PathBuf>,
    /// Output directory; the source's directory when `None`. Created when missing.
    pub output_dir: Option<PathBuf>,
    /// The source is a header: compile only its structs into BTF (for the Wasm header).
    pub header_only: bool,
    pub wasm_header: bool,
    pub package_json: bool,
    pub clang: Option<PathBuf>,
    /// Strip with this llvm-strip instead of the built-in stripper.
    pub llvm_strip: Option<PathBuf>,
    /// Kernel BTF for vmlinux.h; `/sys/kernel/btf/vmlinux` when `None`.
    pub btf: Option<PathBuf>,
    pub target_arch: Option<String>,
    pub depfile: Option<PathBuf>,
    /// Directory holding libbpf's `bpf/bpf_helpers.h`, searched before the system's.
    pub libbpf_include: Option<PathBuf>,
    /// Extra clang flags, in order.
    pub cflags: Vec<String>,
    /// Cache directory; `vmlinux::cache_root()` when `None`.
    pub cache_dir: Option<PathBuf>,
}

/// What a successful run produced.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub written: Vec<PathBuf>,
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}: no such file")]
    Missing(String),
    #[error("{0}: {1}")]
    Read(String, std::io::Error),
    #[error("{0}: the header defines no named struct to export")]
    NoStructs(String),
    #[error("{0}: none of the header's structs ({1}) reached the object's BTF; does the source include the header?")]
    NoExports(String, String),
    #[error("output directory {0} cannot be written: {1}")]
    OutputDir(String, std::io::Error),
    #[error("libbpf headers are missing: {0} not found; install libbpf-dev (Debian/Ubuntu) or libbpf-devel (Fedora), or pass --libbpf-include DIR")]
    NoLibbpf(String),
    #[error("--libbpf-include {0}: {0}/bpf/bpf_helpers.h does not exist")]
    BadLibbpfDir(String),
    #[error("unknown target architecture '{0}' (use x86, arm64, arm, riscv, powerpc, s390, mips, sparc or loongarch)")]
    Arch(String),
    #[error("{0}")]
    Usage(&'static str),
    #[error(transparent)]
    Compile(#[from] compile::Error),
    #[error(transparent)]
    Vmlinux(#[from] vmlinux::Error),
    #[error("{0}: cannot strip DWARF: {1}")]
    Strip(String, String),
    /// The object's path; the parse error follows as the source.
    #[error("{0}")]
    Object(String, #[source] crate::ParseError),
    #[error("{0}: no BPF programs (a non-static function with SEC(\"...\")) in the source")]
    NoPrograms(String),
    #[error("{0}: cannot lay out the Wasm header: {1}")]
    WasmHeader(String, String),
    #[error("cannot write the outputs to {0}: {1}")]
    Write(String, std::io::Error),
}

fn show(p: &Path) -> String {
    p.display().to_string()
}

/// Output file names for a source: `bootstrap.bpf.c` -> `bootstrap`.
pub fn object_stem(source: &Path) -> String {
    let file = source
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    match file.split('.').next() {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => file,
    }
}

/// Finds `bpf/bpf_helpers.h` in `dirs`.
fn find_libbpf(dirs: &[PathBuf]) -> Option<PathBuf> {
    dirs.iter()
        .find(|d| d.join("bpf/bpf_helpers.h").is_file())
        .cloned()
}

/// The directories named by `-I`/`-isystem`/`-idirafter` in user flags (`-I dir` or `-Idir`).
fn user_include_dirs(flags: &[String]) -> Vec<PathBuf> {
    const OPTS: [&str; 3] = ["-I", "-isystem", "-idirafter"];
    let mut dirs = Vec::new();
    let mut it = flags.iter();
    while let Some(f) = it.next() {
        if OPTS.contains(&f.as_str()) {
            dirs.extend(it.next().map(PathBuf::from));
        } else if let Some(d) = OPTS
            .iter()
            .find_map(|o| f.strip_prefix(o))
            .filter(|d| !d.is_empty())
        {
            dirs.push(PathBuf::from(d));
        }
    }
    dirs
}

/// Whether the text has any doc comment for libclang to find.
fn has_doc_comments(src: &[u8]) -> bool {
    [b"///".as_slice(), b"/**", b"/*!", b"//!"]
        .iter()
        .any(|m| src.windows(m.len()).any(|w| w == *m))
}

/// The flags libclang needs to parse the source as clang compiles it.
fn doc_args(inv: &Invocation, tc: &Toolchain) -> Vec<String> {
    let mut a: Vec<String> = vec![
        "-target".into(),
        "bpf".into(),
        format!("-D__TARGET_ARCH_{}", inv.arch),
    ];
    let dir = |p: &Path| {
        if p.as_os_str().is_empty() {
            ".".to_string()
        } else {
            show(p)
        }
    };
    a.extend(["-iquote".into(), dir(&inv.source_dir)]);
    for d in inv.vmlinux_dir.iter().chain(&inv.libbpf_include) {
        a.extend(["-I".into(), show(d)]);
    }
    a.extend(["-I".into(), dir(&inv.source_dir)]);
    a.extend(inv.user_flags.iter().cloned());
    for d in &tc.system_includes {
        a.extend(["-idirafter".into(), show(d)]);
    }
    if let Some(r) = &tc.resource_dir {
        a.extend(["-resource-dir".into(), show(r)]);
    }
    a
}

/// Whether the first `#include` of the source is `vmlinux.h`.
fn includes_vmlinux_first(src: &[u8]) -> bool {
    let text = export::strip_comments(&String::from_utf8_lossy(src));
    text.lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix('#'))
        .map(str::trim_start)
        .find(|l| l.starts_with("include"))
        .is_some_and(|l| l.contains("\"vmlinux.h\"") || l.contains("<vmlinux.h>"))
}

/// The doc parse can load vmlinux.h precompiled when the source starts with it and gets our
/// cached one (not a vmlinux.h of its own).
fn doc_pch(
    inv: &Invocation,
    tc: &Toolchain,
    cache: Option<&Path>,
    src: &[u8],
    cflags: &[String],
) -> Option<doc::Pch> {
    let dir = inv.vmlinux_dir.as_ref()?;
    if !cache.is_some_and(|c| dir.starts_with(c)) || !includes_vmlinux_first(src) {
        return None;
    }
    let mut own = user_include_dirs(cflags);
    own.push(inv.source_dir.clone());
    if own.iter().any(|d| d.join("vmlinux.h").exists()) {
        return None;
    }
    let mut key_args = vec![format!("-D__TARGET_ARCH_{}", inv.arch)];
    key_args.extend(cflags.iter().cloned());
    key_args.extend(tc.resource_dir.iter().map(|r| show(r)));
    Some(doc::Pch {
        header: dir.join("vmlinux.h"),
        key_args,
    })
}

/// The source and the event header, read and checked.
struct Inputs {
    source_text: Vec<u8>,
    header: Option<PathBuf>,
    header_text: Option<String>,
    /// The header's structs, in header order.
    structs: Vec<String>,
}

fn read_inputs(req: &Request) -> Result<Inputs, Error> {
    if !req.source.is_file() {
        return Err(Error::Missing(show(&req.source)));
    }
    let source_text = std::fs::read(&req.source).map_err(|e| Error::Read(show(&req.source), e))?;
    // --header-only: the source is the header.
    let header = if req.header_only {
        Some(req.source.clone())
    } else {
        req.header.clone()
    };
    let mut inputs = Inputs {
        source_text,
        header: header.clone(),
        header_text: None,
        structs: Vec::new(),
    };
    if let Some(h) = &header {
        if !h.is_file() {
            return Err(Error::Missing(show(h)));
        }
        let text = std::fs::read_to_string(h).map_err(|e| Error::Read(show(h), e))?;
        inputs.structs = export::header_structs(&text);
        if inputs.structs.is_empty() {
            return Err(Error::NoStructs(show(h)));
        }
        inputs.header_text = Some(text);
    }
    Ok(inputs)
}

/// Creates the output directory and checks that files can be made in it, before a compile
/// is spent on it. Returns the directory as the user named it and as a usable path.
fn prepare_out_dir(req: &Request) -> Result<(PathBuf, PathBuf), Error> {
    let source_dir = req
        .source
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let out_dir = req.output_dir.clone().unwrap_or(source_dir);
    let usable = if out_dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        out_dir.clone()
    };
    std::fs::create_dir_all(&usable)
        .and_then(|_| {
            tempfile::Builder::new()
                .prefix(".ecc-")
                .tempfile_in(&usable)
                .map(drop)
        })
        .map_err(|e| Error::OutputDir(show(&usable), e))?;
    Ok((out_dir, usable))
}

/// libbpf's headers: an explicit directory must have them; otherwise they must be where clang
/// will look, when the source uses any.
fn check_libbpf(req: &Request, tc: &Toolchain, source_text: &[u8]) -> Result<(), Error> {
    if let Some(d) = &req.libbpf_include {
        if !d.join("bpf/bpf_helpers.h").is_file() {
            return Err(Error::BadLibbpfDir(show(d)));
        }
        return Ok(());
    }
    if !source_text.windows(4).any(|w| w == b"bpf/") {
        return Ok(());
    }
    let source_dir = req.source.parent().filter(|p| !p.as_os_str().is_empty());
    let mut dirs = user_include_dirs(&req.cflags);
    dirs.push(source_dir.map_or_else(|| PathBuf::from("."), Path::to_path_buf));
    dirs.extend(tc.system_includes.iter().cloned());
    match find_libbpf(&dirs) {
        Some(_) => Ok(()),
        None => Err(Error::NoLibbpf("bpf/bpf_helpers.h".into())),
    }
}

/// The directory of the `vmlinux.h` for the requested (or running) kernel's BTF, if any.
fn vmlinux_dir(
    req: &Request,
    cache: Option<&Path>,
    scratch: &Path,
    log: &dyn Fn(&str),
) -> Result<Option<PathBuf>, Error> {
    let btf_path = match &req.btf {
        Some(p) if !p.is_file() => return Err(Error::Missing(show(p))),
        Some(p) => p.clone(),
        None => match Some(PathBuf::from(vmlinux::KERNEL_BTF)).filter(|p| p.exists()) {
            Some(p) => p,
            None => {
                log("no kernel BTF at /sys/kernel/btf/vmlinux: vmlinux.h is not available (use --btf FILE)");
                return Ok(None);
            }
        },
    };
    Ok(Some(vmlinux::ensure(&btf_path, cache, scratch)?))
}

type DocsThread = std::thread::JoinHandle<(Result<Docs, doc::Error>, std::time::Duration)>;

/// Waits for the doc-comment parse; a failure is a warning, never an error.
fn join_docs(
    thread: Option<DocsThread>,
    warnings: &mut Vec<String>,
    log: &dyn Fn(&str),
) -> Option<Docs> {
    match thread?.join() {
        Ok((Ok(d), took)) => {
            log(&format!("doc comments parsed in {} ms", took.as_millis()));
            Some(d)
        }
        Ok((Err(e), _)) => {
            if let doc::Error::NoLibclang(detail) = &e {
                log(&format!("libclang: {detail}"));
            }
            warnings.push(e.to_string());
            None
        }
        Err(_) => {
            warnings.push("the doc-comment parser crashed; the package has no doc comments".into());
            None
        }
    }
}

/// Runs the whole compile. `log` receives verbose progress lines.
pub fn build(req: &Request, log: &dyn Fn(&str)) -> Result<Outcome, Error> {
    let t0 = Instant::now();
    let step = |what: &str| log(&format!("[{:>4} ms] {what}", t0.elapsed().as_millis()));
    if req.wasm_header && !req.package_json {
        return Err(Error::Usage(
            "--wasm-header embeds package.json and cannot be combined with --no-generate-package-json",
        ));
    }
    let cwd = std::env::current_dir().map_err(|e| Error::Read(".".into(), e))?;
    let inputs = read_inputs(req)?;
    let arch = match &req.target_arch {
        Some(a) => compile::target_arch(a).ok_or_else(|| Error::Arch(a.clone()))?,
        None => compile::host_arch(),
    };
    let (out_dir, out_dir_fs) = prepare_out_dir(req)?;
    let cache = req.cache_dir.clone().or_else(vmlinux::cache_root);
    let clang = compile::find_clang(req.clang.as_deref())?;
    let tc = compile::probe(&clang, cache.as_deref())?;
    step(&format!(
        "clang {} ({} system include dirs)",
        clang.display(),
        tc.system_includes.len()
    ));
    check_libbpf(req, &tc, &inputs.source_text)?;

    let scratch = tempfile::Builder::new()
        .prefix("ecc-")
        .tempdir()
        .map_err(|e| Error::Write(std::env::temp_dir().display().to_string(), e))?;
    let vmlinux_dir = vmlinux_dir(req, cache.as_deref(), scratch.path(), log)?;
    step(&format!(
        "vmlinux.h: {}",
        vmlinux_dir.as_deref().map_or("none".into(), show)
    ));

    // The wrapper names the source relative to the working directory, so diagnostics point at
    // it and no absolute path reaches the object's line info.
    let display = show(&compile::relative_to(
        &compile::absolute(&req.source, &cwd),
        &cwd,
    ));
    let display_dir = Path::new(&display)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let include = match (&inputs.header, &inputs.header_text) {
        (Some(h), Some(text)) if !req.header_only && compile::has_include_guard(text) => {
            Some(show(&compile::absolute(h, &cwd)))
        }
        _ => None,
    };
    // Named like the source, so that what clang derives from the file name matches a direct
    // compile; in a directory of its own, so that no other file shadows the user's includes.
    let wrapper_dir = scratch.path().join("src");
    let wrapper = wrapper_dir.join(
        req.source
            .file_name()
            .unwrap_or(std::ffi::OsStr::new("prog.bpf.c")),
    );
    let wrapper_text = compile::wrapper_source(
        &display,
        &inputs.source_text,
        include.as_deref(),
        &inputs.structs,
    );
    std::fs::create_dir(&wrapper_dir)
        .and_then(|_| std::fs::write(&wrapper, wrapper_text))
        .map_err(|e| Error::Write(show(&wrapper), e))?;
    let inv = Invocation {
        arch: arch.to_string(),
        source_dir: display_dir,
        vmlinux_dir,
        libbpf_include: req.libbpf_include.clone(),
        system_includes: tc.system_includes.clone(),
        user_flags: req.cflags.clone(),
        scratch_dir: scratch.path().to_path_buf(),
        input: wrapper.clone(),
        output: scratch.path().join("out.o"),
        depfile: req.depfile.as_ref().map(|_| scratch.path().join("out.d")),
    };
    let args = compile::clang_args(&inv);

    // Doc comments on a thread, concurrently with the compile.
    let docs_thread = (!req.header_only && has_doc_comments(&inputs.source_text)).then(|| {
        let (file, a) = (display.clone(), doc_args(&inv, &tc));
        let pch = doc_pch(
            &inv,
            &tc,
            cache.as_deref(),
            &inputs.source_text,
            &req.cflags,
        );
        std::thread::spawn(move || {
            let t = Instant::now();
            (doc::extract(&file, &a, pch.as_ref()), t.elapsed())
        })
    });
    let shown: Vec<_> = args.iter().map(|a| a.to_string_lossy()).collect();
    log(&format!("{} {}", clang.display(), shown.join(" ")));
    compile::run(&clang, &args, &display)?;
    step("compiled");

    let raw = compile::read(&inv.output).map_err(|_| compile::Error::NoObject(display.clone()))?;
    let stripped = match &req.llvm_strip {
        Some(tool) => strip_with_tool(tool, &inv.output, scratch.path())?,
        None => {
            strip::strip_debug(&raw).map_err(|e| Error::Strip(display.clone(), e.to_string()))?
        }
    };
    step(&format!(
        "stripped {} -> {} bytes",
        raw.len(),
        stripped.len()
    ));
    let obj = Object::parse(&stripped).map_err(|e| Error::Object(display.clone(), e))?;
    if !req.header_only && obj.programs.is_empty() {
        return Err(Error::NoPrograms(display));
    }

    let mut warnings = Vec::new();
    let (exports, missing) = export::export_types(&obj.btf, &inputs.structs);
    if let Some(h) = &inputs.header {
        if exports.is_empty() {
            return Err(Error::NoExports(show(h), missing.join(", ")));
        }
        for m in &missing {
            warnings.push(format!(
                "{}: struct {m} did not reach BTF and is not exported",
                show(h)
            ));
        }
    }
    let docs = join_docs(docs_thread, &mut warnings, log);
    step("docs");

    let stem = object_stem(&req.source);
    let obj_file = format!("{stem}.bpf.o");
    let (meta, meta_warnings) =
        package::build_meta(&obj, &package::obj_name(&obj_file), docs.as_ref(), exports);
    warnings.extend(meta_warnings.into_iter().map(|w| format!("{display}: {w}")));

    let out = |name: &str| out_dir.join(name);
    let mut files: Vec<(PathBuf, Vec<u8>)> = vec![
        (out(&obj_file), stripped.clone()),
        (
            out(&format!("{stem}.skel.json")),
            package::to_json(&meta).into_bytes(),
        ),
    ];
    if req.package_json {
        let json = package::to_json(&package::pack(&stripped, meta));
        if req.wasm_header {
            files.push((
                out("ewasm-skel.h"),
                crate::emit::ewasm::ewasm_skel(&json).into_bytes(),
            ));
        }
        files.push((out("package.json"), json.into_bytes()));
    }
    if req.header_only {
        let text = wasm_layout_header(&obj, &obj_file, &inputs.structs)?;
        files.push((out(&format!("{stem}.wasm.h")), text.into_bytes()));
    }
    if let Some(dep) = &req.depfile {
        let clang_dep = std::fs::read_to_string(scratch.path().join("out.d")).unwrap_or_default();
        let targets: Vec<String> = files.iter().map(|(p, _)| show(p)).collect();
        let text = compile::rewrite_depfile(&clang_dep, &wrapper, &targets, &display);
        files.push((dep.clone(), text.into_bytes()));
    }
    crate::util::fs::write_all_atomic(&files).map_err(|e| Error::Write(show(&out_dir_fs), e))?;
    step("written");
    Ok(Outcome {
        written: files.into_iter().map(|(p, _)| p).collect(),
        warnings,
    })
}

/// The Wasm-layout header for `--header-only` (`<name>.wasm.h`): the header's structs as
/// the layout engine lays them out for wasm32, from the compiled object's BTF.
fn wasm_layout_header(
    obj: &Object<'_>,
    obj_file: &str,
    structs: &[String],
) -> Result<String, Error> {
    let names: Vec<String> = structs.iter().map(|s| format!("struct {s}")).collect();
    let guard = crate::emit::wasm::guard_for(obj_file);
    crate::emit::wasm::header_for(&obj.btf, crate::layout::Selection::Types(&names), &guard)
        .map_err(|e| Error::WasmHeader(obj_file.to_string(), e.to_string()))
}

/// `llvm-strip -g` as a process, for `--llvm-strip-bin`.
fn strip_with_tool(tool: &Path, input: &Path, scratch: &Path) -> Result<Vec<u8>, Error> {
    let out = scratch.join("stripped.o");
    let status = std::process::Command::new(tool)
        .arg("-g")
        .arg(input)
        .arg("-o")
        .arg(&out)
        .status()
        .map_err(|e| Error::Strip(show(input), format!("cannot run {}: {e}", tool.display())))?;
    if !status.success() {
        return Err(Error::Strip(
            show(input),
            format!("{} failed ({status})", tool.display()),
        ));
    }
    std::fs::read(&out).map_err(|e| Error::Strip(show(input), e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_dirs_from_user_flags() {
        let flags: Vec<String> = ["-I", "a", "-Ib", "-DX", "-isystem", "c", "-idirafterd"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            user_include_dirs(&flags),
            ["a", "b", "c", "d"].map(PathBuf::from)
        );
    }

    #[test]
    fn names_and_doc_markers() {
        assert_eq!(object_stem(Path::new("dir/bootstrap.bpf.c")), "bootstrap");
        assert_eq!(object_stem(Path::new("event.h")), "event");
        assert!(has_doc_comments(b"int a; /// x"));
        assert!(has_doc_comments(b"/** x */"));
        assert!(!has_doc_comments(b"/* x */ // y"));
        assert!(includes_vmlinux_first(
            b"// c\n/* #include <x.h> */\n#include \"vmlinux.h\"\n#include <bpf/bpf_helpers.h>\n"
        ));
        assert!(includes_vmlinux_first(b"#  include <vmlinux.h>\n"));
        assert!(!includes_vmlinux_first(
            b"#include <linux/bpf.h>\n#include \"vmlinux.h\"\n"
        ));
    }
}
