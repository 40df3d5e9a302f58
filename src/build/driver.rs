//! The `ecc` compile: source (+ event header) -> `<name>.bpf.o`, `<name>.skel.json`,
//! `package.json` and, on request, `ewasm-skel.h` and a dependency file.
//!
//! Everything is computed in memory and written at the end as one group of atomic renames,
//! so a failed run leaves no output and no temp file behind. The doc-comment parse (libclang)
//! runs on its own thread while clang compiles, so it adds no wall time.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::build::compile::{self, Invocation, Toolchain};
use crate::build::doc::{self, Docs};
use crate::build::export;
use crate::build::pch;
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
    /// `--btfgen`: the BTFHub archive to cut minimal BTFs from into `<name>.tar`.
    pub btfgen: Option<PathBuf>,
    /// Do not use (or build) the precompiled vmlinux.h.
    pub no_pch: bool,
    /// Set from outside (a signal handler in the binary) to stop the run: clang is killed,
    /// the temp directory removed, nothing written, and the run fails with `Interrupted`.
    pub stop: Option<Arc<AtomicBool>>,
}

/// What a successful run produced.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub written: Vec<PathBuf>,
    pub warnings: Vec<String>,
    /// Every file the outputs depend on (source, headers; not the cached vmlinux.h), for
    /// `cargo:rerun-if-changed` or a make dependency file.
    pub inputs: Vec<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}: no such file")]
    Missing(String),
    #[error("{0} is a directory; give the BPF C source file")]
    SourceIsDir(String),
    #[error("-o {0}: is a file; -o names the output directory")]
    OutputNotDir(String),
    #[error("-M {0}: {1}")]
    BadDepfile(String, &'static str),
    #[error("{0}")]
    Read(String, #[source] std::io::Error),
    #[error("{0}: the header defines no named struct to export")]
    NoStructs(String),
    #[error("{0}: none of the header's structs ({1}) reached the object's BTF; does the source include the header?")]
    NoExports(String, String),
    #[error("output directory {0} cannot be written")]
    OutputDir(String, #[source] std::io::Error),
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
    #[error("{0}: cannot strip DWARF")]
    Strip(String, #[source] crate::ParseError),
    #[error("{0}: cannot strip DWARF with {1}")]
    StripTool(String, String, #[source] std::io::Error),
    /// The object's path; the parse error follows as the source.
    #[error("{0}")]
    Object(String, #[source] crate::ParseError),
    #[error("{0}: no BPF programs (a non-static function with SEC(\"...\")) in the source")]
    NoPrograms(String),
    #[error(transparent)]
    Btfgen(#[from] crate::btfgen::Error),
    #[error("{0}: cannot lay out the Wasm header")]
    WasmHeader(String, #[source] crate::layout::Error),
    #[error("cannot write {0}")]
    Write(String, #[source] std::io::Error),
    #[error("interrupted")]
    Interrupted,
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

/// Whether the text has any doc comment for libclang to find.
fn has_doc_comments(src: &[u8]) -> bool {
    [b"///".as_slice(), b"/**", b"/*!", b"//!"]
        .iter()
        .any(|m| src.windows(m.len()).any(|w| w == *m))
}

/// The flags libclang needs to parse the source as clang compiles it (its paths are all
/// absolute, so the parse does not depend on the working directory either).
fn doc_args(inv: &Invocation, tc: &Toolchain) -> Vec<String> {
    let mut inv = inv.clone();
    inv.pch = None;
    let mut a: Vec<String> = compile::common_args(&inv)
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if let Some(r) = &tc.resource_dir {
        a.extend(["-resource-dir".into(), show(r)]);
    }
    // The source's name need not end in `.c`.
    a.extend(["-x".into(), "c".into()]);
    a
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
    if req.source.is_dir() {
        return Err(Error::SourceIsDir(show(&req.source)));
    }
    if !req.source.is_file() {
        return Err(Error::Missing(show(&req.source)));
    }
    if let Some(o) = req
        .output_dir
        .as_ref()
        .filter(|o| o.exists() && !o.is_dir())
    {
        return Err(Error::OutputNotDir(show(o)));
    }
    if let Some(d) = &req.depfile {
        let parent = d.parent().filter(|p| !p.as_os_str().is_empty());
        if d.is_dir() {
            return Err(Error::BadDepfile(show(d), "is a directory"));
        }
        if parent.is_some_and(|p| !p.is_dir()) {
            return Err(Error::BadDepfile(show(d), "its directory does not exist"));
        }
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
    let mut dirs = crate::build::flags::include_dirs(&req.cflags);
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

type DocsThread = std::thread::JoinHandle<(Result<(Docs, bool), doc::Error>, std::time::Duration)>;

/// Waits for the doc-comment parse; a failure is a warning, never an error.
fn join_docs(
    thread: Option<DocsThread>,
    warnings: &mut Vec<String>,
    log: &dyn Fn(&str),
) -> Option<Docs> {
    match thread?.join() {
        Ok((Ok((d, pch)), took)) => {
            let how = if pch { "with" } else { "without" };
            log(&format!(
                "doc comments parsed in {} ms, {how} the precompiled vmlinux.h",
                took.as_millis()
            ));
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

/// Where the compile runs and how it names the source.
struct Paths {
    /// The source as the user typed it, relative to the working directory: diagnostics.
    display: String,
    /// The source with symlinks resolved, and its directory, where clang runs.
    real: PathBuf,
    dir: PathBuf,
    /// Prefixes mapped away from everything clang records (`-ffile-prefix-map`), so the
    /// object names the source and its headers by their names in the source's directory,
    /// whatever the working directory and however the path was typed.
    maps: Vec<(std::ffi::OsString, std::ffi::OsString)>,
}

fn paths(req: &Request, cwd: &Path, scratch: &Path) -> Result<Paths, Error> {
    let typed = compile::absolute(&req.source, cwd);
    let display = show(&compile::relative_to(&typed, cwd));
    let real = std::fs::canonicalize(&req.source).map_err(|e| Error::Read(show(&req.source), e))?;
    let dir = real
        .parent()
        .map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
    let with_slash = |p: &Path| {
        let mut s = p.as_os_str().to_os_string();
        s.push("/");
        s
    };
    let mut maps = vec![(scratch.as_os_str().to_os_string(), ".".into())];
    if dir != Path::new("/") {
        maps.push((with_slash(&dir), "".into()));
    }
    if let Some(d) = Path::new(&display)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        maps.push((with_slash(d), "".into()));
    }
    Ok(Paths {
        display,
        real,
        dir,
        maps,
    })
}

/// The precompiled vmlinux.h for this compile, built when missing; `None` (and why, with
/// `-v`) when it does not apply.
fn use_pch(
    req: &Request,
    inv: &Invocation,
    clang: &Path,
    cache: Option<&Path>,
    source_text: &[u8],
    log: &dyn Fn(&str),
) -> Result<Option<PathBuf>, Error> {
    let not_used = |why: &str| {
        log(&format!("precompiled vmlinux.h not used: {why}"));
        Ok(None)
    };
    if req.no_pch {
        return not_used("--no-pch");
    }
    let Some(dir) = &inv.vmlinux_dir else {
        return not_used("no vmlinux.h");
    };
    let mut own = crate::build::flags::include_dirs(&inv.user_flags);
    own.push(inv.source_dir.clone());
    let ours = cache.is_some_and(|c| dir.starts_with(c))
        && !own.iter().any(|d| d.join("vmlinux.h").exists());
    if let Some(why) = pch::unusable(source_text, &inv.user_flags, ours) {
        return not_used(&why);
    }
    let args = compile::header_args(inv);
    let header = dir.join("vmlinux.h");
    let Some(file) = pch::path_for(clang, &header, &args) else {
        return not_used("the clang binary cannot be identified");
    };
    let t = Instant::now();
    match pch::ensure(clang, &header, &args, &file, req.stop.as_deref()) {
        Ok(made) => {
            let how = match made {
                pch::Made::Found => "cached".to_string(),
                pch::Made::Built => format!("built in {} ms", t.elapsed().as_millis()),
            };
            log(&format!("precompiled vmlinux.h ({how}): {}", show(&file)));
            Ok(Some(file))
        }
        Err(None) => Err(Error::Interrupted),
        Err(Some(why)) => not_used(&why),
    }
}

/// Runs the whole compile. `log` receives verbose progress lines.
pub fn build(req: &Request, log: &dyn Fn(&str)) -> Result<Outcome, Error> {
    let t0 = Instant::now();
    let step = |what: &str| log(&format!("[{:>4} ms] {what}", t0.elapsed().as_millis()));
    let stopped = || {
        req.stop
            .as_deref()
            .is_some_and(|s| s.load(Ordering::Relaxed))
    };
    if req.wasm_header && !req.package_json {
        return Err(Error::Usage(
            "--wasm-header embeds package.json and cannot be combined with --no-generate-package-json",
        ));
    }
    if req.wasm_header && req.header_only {
        return Err(Error::Usage(
            "--wasm-header embeds a program's package and cannot be combined with --header-only",
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
    let scratch_dir = compile::absolute(scratch.path(), &cwd);
    let vmlinux_dir =
        vmlinux_dir(req, cache.as_deref(), &scratch_dir, log)?.map(|d| compile::absolute(&d, &cwd));
    step(&format!(
        "vmlinux.h: {}",
        vmlinux_dir.as_deref().map_or("none".into(), show)
    ));
    if stopped() {
        return Err(Error::Interrupted);
    }

    let p = paths(req, &cwd, &scratch_dir)?;
    let display = p.display.clone();
    let include = match (&inputs.header, &inputs.header_text) {
        (Some(h), Some(text)) if !req.header_only && compile::has_include_guard(text) => {
            Some(show(&compile::absolute(h, &cwd)))
        }
        _ => None,
    };
    // Named like the source, so that what clang derives from the file name matches a direct
    // compile; in a directory of its own, so that no other file shadows the user's includes.
    let wrapper_dir = scratch_dir.join("src");
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
    let mut inv = Invocation {
        arch: arch.to_string(),
        source_dir: p.dir.clone(),
        vmlinux_dir,
        libbpf_include: req
            .libbpf_include
            .as_ref()
            .map(|d| compile::absolute(d, &cwd)),
        system_includes: tc.system_includes.clone(),
        user_flags: crate::build::flags::absolutize(&req.cflags, &cwd),
        prefix_maps: p.maps.clone(),
        pch: None,
        cwd: Some(p.dir.clone()),
        input: wrapper.clone(),
        output: scratch_dir.join("out.o"),
        depfile: Some(scratch_dir.join("out.d")),
    };
    inv.pch = use_pch(
        req,
        &inv,
        &clang,
        cache.as_deref(),
        &inputs.source_text,
        log,
    )?;
    let args = compile::clang_args(&inv);

    // Doc comments on a thread, concurrently with the compile.
    let docs_thread = (!req.header_only && has_doc_comments(&inputs.source_text)).then(|| {
        let (file, a, pch) = (p.real.clone(), doc_args(&inv, &tc), inv.pch.clone());
        std::thread::spawn(move || {
            let t = Instant::now();
            (doc::extract(&file, &a, pch.as_deref()), t.elapsed())
        })
    });
    let shown: Vec<_> = args.iter().map(|a| a.to_string_lossy()).collect();
    log(&format!(
        "(in {}) {} {}",
        show(&p.dir),
        clang.display(),
        shown.join(" ")
    ));
    // Without the generated declarations: the source alone, then with the header.
    let plain = |with_header: bool| {
        let header = include.as_deref().filter(|_| with_header);
        compile::wrapper_source(&display, &inputs.source_text, header, &[])
    };
    let fallbacks = [false, true]
        .into_iter()
        .filter(|&with_header| !with_header || include.is_some())
        .map(plain);
    compile_wrapper(
        &clang,
        &args,
        &inv,
        &display,
        req.stop.as_deref(),
        fallbacks,
    )?;
    step("compiled");

    let raw = compile::read(&inv.output).map_err(|_| compile::Error::NoObject(display.clone()))?;
    let stripped = match &req.llvm_strip {
        Some(tool) => strip_with_tool(tool, &inv.output, &scratch_dir)?,
        None => strip::strip_debug(&raw).map_err(|e| Error::Strip(display.clone(), e))?,
    };
    step(&format!(
        "stripped {} -> {} bytes",
        raw.len(),
        stripped.len()
    ));
    // ecc always passes -g: an object without BTF declared nothing for it to describe.
    if crate::elf::object::btf_section(&stripped).is_err() {
        return Err(match &inputs.header {
            Some(h) if req.header_only => Error::NoExports(show(h), inputs.structs.join(", ")),
            _ => Error::NoPrograms(display),
        });
    }
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
    let mut docs = join_docs(docs_thread, &mut warnings, log);
    if let Some(d) = docs.as_mut() {
        warnings.extend(doc::check_cmdargs(d, &display));
    }
    step("docs");

    let stem = object_stem(&req.source);
    let out = |name: &str| out_dir.join(name);
    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    if req.header_only {
        files.extend(header_only_outputs(
            &obj,
            &stripped,
            &stem,
            &out_dir_fs,
            &out,
            &inputs,
            &mut warnings,
        )?);
    } else {
        let obj_file = format!("{stem}.bpf.o");
        let (meta, meta_warnings) =
            package::build_meta(&obj, &package::obj_name(&obj_file), docs.as_ref(), exports);
        warnings.extend(meta_warnings.into_iter().map(|w| format!("{display}: {w}")));
        files.push((out(&obj_file), stripped.clone()));
        files.push((
            out(&format!("{stem}.skel.json")),
            package::to_json(&meta).into_bytes(),
        ));
        if req.package_json {
            let json = package::to_json(&package::pack(&stripped, meta));
            if req.wasm_header {
                files.push((
                    out("ewasm-skel.h"),
                    crate::emit::ewasm::ewasm_skel(&json).into_bytes(),
                ));
            }
            if let Some(dir) = &req.btfgen {
                let tar = crate::btfgen::package_tar(&obj_file, &obj, json.as_bytes(), dir, arch)?;
                files.push((out(&format!("{stem}.tar")), tar));
                step("btfgen");
            }
            files.push((out("package.json"), json.into_bytes()));
        } else if req.btfgen.is_some() {
            return Err(Error::Usage(
                "--btfgen packs package.json and cannot be combined with --no-generate-package-json",
            ));
        }
    }
    let clang_dep = std::fs::read_to_string(scratch_dir.join("out.d")).unwrap_or_default();
    let skip: Vec<&Path> = [Some(scratch_dir.as_path()), cache.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    let mut deps = vec![PathBuf::from(&display)];
    deps.extend(compile::depfile_inputs(&clang_dep, &p.dir, &skip, &cwd));
    deps.dedup();
    if let Some(dep) = &req.depfile {
        let targets: Vec<String> = files.iter().map(|(p, _)| show(p)).collect();
        let text = compile::depfile_text(&targets, &deps);
        files.push((dep.clone(), text.into_bytes()));
    }
    if stopped() {
        return Err(Error::Interrupted);
    }
    crate::util::fs::write_all_atomic(&files).map_err(|(p, e)| Error::Write(show(&p), e))?;
    step("written");
    Ok(Outcome {
        written: files.into_iter().map(|(p, _)| p).collect(),
        warnings,
        inputs: deps,
    })
}

/// Runs clang on the wrapper and shows its diagnostics. When the compile fails with a
/// diagnostic in the generated declarations (a source that ends inside a function or an
/// initializer, a header that leaves a struct open), those say nothing to the user: the
/// wrapper is compiled again as each of `fallbacks` (the same without the generated
/// declarations), and the diagnostics of the first that fails, which point into the user's
/// files only, are shown instead.
fn compile_wrapper(
    clang: &Path,
    args: &[std::ffi::OsString],
    inv: &Invocation,
    display: &str,
    stop: Option<&AtomicBool>,
    fallbacks: impl Iterator<Item = Vec<u8>>,
) -> Result<(), Error> {
    let path = inv.output.with_extension("diag");
    let run = || -> Result<(Result<(), compile::Error>, Vec<u8>), Error> {
        let (stderr, colour) = compile::diagnostics_file(&path)?;
        let mut args = args.to_vec();
        args.extend(colour.map(Into::into));
        let result = compile::run(clang, &args, inv.cwd.as_deref(), display, stop, stderr);
        let text = std::fs::read(&path).map_err(|e| Error::Read(show(&path), e))?;
        Ok((result, text))
    };
    let (mut result, mut shown) = run()?;
    let generated = memchr::memmem::find(&shown, compile::GENERATED.as_bytes()).is_some();
    if matches!(result, Err(compile::Error::Failed { .. })) && generated {
        for text in fallbacks {
            std::fs::write(&inv.input, text).map_err(|e| Error::Write(show(&inv.input), e))?;
            let (again, diagnostics) = run()?;
            if again.is_err() {
                (result, shown) = (again, diagnostics);
                break;
            }
        }
    }
    let _ = std::io::Write::write_all(&mut std::io::stderr(), &shown);
    result.map_err(|e| match e {
        compile::Error::Interrupted => Error::Interrupted,
        e => e.into(),
    })
}

/// `--header-only` writes the header's structs as a types-only `<stem>.bpf.o` and as the
/// Wasm-layout `<stem>.wasm.h`, and never a package (it has no program to run). When
/// `<stem>.bpf.o` already holds a program (from `ecc <stem>.bpf.c`), it is kept and the
/// types-only object is written as `<stem>.h.bpf.o` instead.
fn header_only_outputs(
    obj: &Object<'_>,
    bytes: &[u8],
    stem: &str,
    out_dir_fs: &Path,
    out: &dyn Fn(&str) -> PathBuf,
    inputs: &Inputs,
    warnings: &mut Vec<String>,
) -> Result<Vec<(PathBuf, Vec<u8>)>, Error> {
    let obj_file = format!("{stem}.bpf.o");
    let existing = std::fs::read(out_dir_fs.join(&obj_file)).unwrap_or_default();
    let holds_program = Object::parse(&existing).is_ok_and(|o| !o.programs.is_empty());
    let types_file = if holds_program {
        let alt = format!("{stem}.h.bpf.o");
        warnings.push(format!(
            "{}: holds a program, kept; the header's types-only object is {}",
            show(&out(&obj_file)),
            show(&out(&alt))
        ));
        alt
    } else {
        obj_file.clone()
    };
    let text = wasm_layout_header(obj, &obj_file, &inputs.structs)?;
    Ok(vec![
        (out(&types_file), bytes.to_vec()),
        (out(&format!("{stem}.wasm.h")), text.into_bytes()),
    ])
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
        .map_err(|e| Error::WasmHeader(obj_file.to_string(), e))
}

/// `llvm-strip -g` as a process, for `--llvm-strip-bin`.
fn strip_with_tool(tool: &Path, input: &Path, scratch: &Path) -> Result<Vec<u8>, Error> {
    let out = scratch.join("stripped.o");
    let fail = |e| Error::StripTool(show(input), show(tool), e);
    let status = std::process::Command::new(tool)
        .arg("-g")
        .arg(input)
        .arg("-o")
        .arg(&out)
        .status()
        .map_err(fail)?;
    if !status.success() {
        return Err(fail(std::io::Error::other(format!("exited with {status}"))));
    }
    std::fs::read(&out).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_doc_markers() {
        assert_eq!(object_stem(Path::new("dir/bootstrap.bpf.c")), "bootstrap");
        assert_eq!(object_stem(Path::new("event.h")), "event");
        assert!(has_doc_comments(b"int a; /// x"));
        assert!(has_doc_comments(b"/** x */"));
        assert!(!has_doc_comments(b"/* x */ // y"));
    }
}
