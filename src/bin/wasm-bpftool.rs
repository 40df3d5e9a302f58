//! wasm-bpftool: a bpftool that knows Wasm. Follows bpftool's grammar:
//!   wasm-bpftool [-j] [-B BASE] btf dump file FILE [format {raw|c}] [--type NAME]...
//!   wasm-bpftool [-j] gen skeleton FILE [name NAME]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use ecc::btf::Btf;
use ecc::emit;
use ecc::util::fs::{read_input, Input};

const USAGE: &str =
    "Usage: wasm-bpftool [-j] [-B BASE_BTF] btf dump file FILE [format {raw|c}] [--type NAME]...
       wasm-bpftool [-j] gen skeleton FILE [name NAME]

  -j, --json        emit for Wasm guests (wasm32 layout headers, libbpf-wasm.h skeletons)
  -B, --base-btf    base BTF for split BTF (e.g. /sys/kernel/btf/vmlinux for a module)
  --type NAME       with format c: only NAME and the types it needs (repeatable)";

/// Global options, accepted anywhere on the command line as bpftool does.
#[derive(Default)]
struct Opts {
    wasm: bool,
    base: Option<PathBuf>,
    types: Vec<String>,
    words: Vec<String>,
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<Option<Opts>> {
    let mut o = Opts::default();
    let mut args = args.peekable();
    while let Some(a) = args.next() {
        match a.as_str() {
            "-h" | "--help" | "help" => return Ok(None),
            "-j" | "--json" | "-p" | "--pretty" => o.wasm = true,
            "-B" | "--base-btf" => o.base = Some(args.next().context("-B needs a file")?.into()),
            "--type" => o.types.push(args.next().context("--type needs a name")?),
            _ if a.starts_with('-') && a.len() > 1 => bail!("unknown option '{a}'"),
            _ => o.words.push(a),
        }
    }
    Ok(Some(o))
}

type Handler = fn(&Opts, &[String]) -> Result<()>;

/// Subcommands by keyword path, dispatched from a table as bpftool does.
const COMMANDS: &[(&[&str], Handler)] = &[
    (&["btf", "dump", "file"], do_btf_dump),
    (&["gen", "skeleton"], do_gen_skeleton),
];

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wasm-bpftool: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run() -> Result<()> {
    let Some(opts) = parse_args(std::env::args().skip(1))? else {
        println!("{USAGE}");
        return Ok(());
    };
    for (path, handler) in COMMANDS {
        if opts.words.len() >= path.len()
            && path
                .iter()
                .zip(&opts.words)
                .all(|(p, w)| p.starts_with(w.as_str()) && !w.is_empty())
        {
            return handler(&opts, &opts.words[path.len()..]);
        }
    }
    bail!("unknown command '{}'; see --help", opts.words.join(" "))
}

fn read(path: &str) -> Result<Input> {
    read_input(Path::new(path)).with_context(|| format!("{path}: cannot read"))
}

fn do_btf_dump(opts: &Opts, rest: &[String]) -> Result<()> {
    let (file, rest) = rest.split_first().context("btf dump file: missing FILE")?;
    let format = match rest {
        [] => "raw",
        [kw, f] if kw == "format" => f.as_str(),
        _ => bail!("btf dump: expected 'format {{raw|c}}' after the file"),
    };
    let base_data = opts
        .base
        .as_ref()
        .map(|p| read(&p.to_string_lossy()))
        .transpose()?;
    let base = match (&base_data, &opts.base) {
        (Some(d), Some(p)) => Some(load_btf(d, None).with_context(|| format!("{}", p.display()))?),
        _ => None,
    };
    let data = read(file)?;
    let btf = load_btf(&data, base.as_ref()).with_context(|| file.to_string())?;
    let mut stdout = IoWriter::new(std::io::stdout().lock());
    match (format, opts.wasm) {
        ("raw", _) => stdout.write_all(emit::raw::dump(&btf).as_bytes()),
        // Streamed: the emitter checks everything before its first byte, then writes in chunks.
        ("c", false) => {
            emit::c::dump_to(&btf, &opts.types, &mut stdout).with_context(|| file.to_string())?
        }
        ("c", true) => stdout.write_all(wasm_header(&btf, file, &opts.types)?.as_bytes()),
        (f, _) => bail!("unknown format '{f}', expected raw or c"),
    }
    stdout.finish().context("writing to stdout")
}

/// Adapts an `io::Write` to the emitters' `fmt::Write`, keeping the first I/O error.
struct IoWriter<W: Write> {
    inner: W,
    err: Option<std::io::Error>,
}

impl<W: Write> IoWriter<W> {
    fn new(inner: W) -> Self {
        IoWriter { inner, err: None }
    }

    fn write_all(&mut self, bytes: &[u8]) {
        if self.err.is_none() {
            self.err = self.inner.write_all(bytes).err();
        }
    }

    fn finish(mut self) -> std::io::Result<()> {
        match self.err.take() {
            Some(e) => Err(e),
            None => self.inner.flush(),
        }
    }
}

impl<W: Write> std::fmt::Write for IoWriter<W> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.write_all(s.as_bytes());
        match self.err {
            Some(_) => Err(std::fmt::Error),
            None => Ok(()),
        }
    }
}

/// `format c -j`: the Wasm layout header, guarded by a macro named after the input file.
fn wasm_header(btf: &Btf<'_>, file: &str, types: &[String]) -> Result<String> {
    let selection = match types {
        [] => ecc::layout::Selection::All,
        t => ecc::layout::Selection::Types(t),
    };
    let name = std::path::Path::new(file)
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    emit::wasm::header_for(btf, selection, &emit::wasm::guard_for(&name))
        .with_context(|| file.to_string())
}

/// BTF from an ELF object's `.BTF` section or a raw blob; errors carry the byte offset.
fn load_btf<'a>(data: &'a [u8], base: Option<&'a Btf<'a>>) -> Result<Btf<'a>> {
    let (blob, shift) = if ecc::elf::object::is_elf(data) {
        ecc::elf::object::btf_section(data)?
    } else {
        (data, 0)
    };
    let btf = match base {
        Some(b) => Btf::parse_split(blob, b),
        None => Btf::parse(blob),
    };
    btf.map_err(|e| anyhow::anyhow!("{}", e.shifted(shift)))
}

fn do_gen_skeleton(opts: &Opts, rest: &[String]) -> Result<()> {
    let (file, name) = match rest {
        [f] => (f, ecc::model::skeleton::obj_name_from_path(f)),
        [f, kw, n] if kw == "name" => (f, n.clone()),
        _ => bail!("gen skeleton: expected FILE [name NAME]"),
    };
    let data = read(file)?;
    let obj = ecc::elf::object::Object::parse(&data).with_context(|| file.to_string())?;
    let skel =
        ecc::model::skeleton::Skeleton::new(&obj, &name).with_context(|| file.to_string())?;
    let out = if opts.wasm {
        let layout = skel
            .wasm_layout(&obj.btf)
            .with_context(|| file.to_string())?;
        emit::skeleton_wasm::wasm(&skel, &layout, &data)
    } else {
        emit::skeleton::native(&skel, &obj.btf, &data)
    };
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(out.as_bytes())
        .context("writing to stdout")?;
    Ok(())
}
