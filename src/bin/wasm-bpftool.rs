//! wasm-bpftool: a bpftool that knows Wasm. Follows bpftool's grammar:
//!   wasm-bpftool [-j] [-B BASE] btf dump file FILE [format {raw|c}] [--type NAME]...
//!   wasm-bpftool [-j] gen skeleton FILE [name NAME]
//!   wasm-bpftool gen min_core_btf INPUT OUTPUT OBJECT [OBJECT...]
//!   wasm-bpftool OBJECT help, --version, completions SHELL, man DIR
//! Exit statuses and error messages follow `ecc::cli`: 0 ok, 1 failure, 2 usage error.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use ecc::cli;

use ecc::btf::Btf;
use ecc::emit;
use ecc::util::fs::{read_input, Input};

const USAGE: &str = "Usage: wasm-bpftool [OPTIONS] OBJECT { COMMAND | help }
       wasm-bpftool { version | completions {bash|zsh|fish} | man DIR | help }

       OBJECT := { btf | gen }
       OPTIONS := { -j|--json | -B|--base-btf FILE | -V|--version | -h|--help }

  -j, --json        emit for Wasm guests (wasm32 layout headers, libbpf-wasm.h skeletons)
  -B, --base-btf    base BTF for split BTF (e.g. /sys/kernel/btf/vmlinux for a module)
  `wasm-bpftool btf help`, `wasm-bpftool gen help` explain each object.";

const BTF_USAGE: &str =
    "Usage: wasm-bpftool [-j] [-B BASE_BTF] btf dump file FILE [format {raw|c}] [--type NAME]...
       wasm-bpftool btf help

  FILE is a BPF object (its .BTF section) or raw BTF such as /sys/kernel/btf/vmlinux.
  format raw        every type, as bpftool prints them (the default)
  format c          C declarations (vmlinux.h); with -j the wasm32 layout header
  --type NAME       with format c: only NAME and the types it needs (repeatable)
  -B, --base-btf    base BTF when FILE is split BTF (a kernel module's)";

const GEN_USAGE: &str = "Usage: wasm-bpftool [-j] gen skeleton FILE [name NAME]
       wasm-bpftool gen min_core_btf INPUT OUTPUT OBJECT [OBJECT...]
       wasm-bpftool gen help

  gen skeleton      a libbpf skeleton header for the BPF object FILE, on stdout
  gen min_core_btf  the kernel BTF INPUT cut down to what the OBJECTs' CO-RE relocations
                    need, written to OUTPUT (bpftool's BTFGen)
  -j, --json        the skeleton for Wasm guests, on libbpf-wasm.h";

/// The objects, with their help, as bpftool lists them.
const OBJECTS: &[(&str, &str)] = &[("btf", BTF_USAGE), ("gen", GEN_USAGE)];

/// Global options, accepted anywhere on the command line as bpftool does.
#[derive(Default)]
struct Opts {
    wasm: bool,
    base: Option<PathBuf>,
    types: Vec<String>,
    words: Vec<String>,
    help: bool,
    version: bool,
}

fn usage(msg: String) -> anyhow::Error {
    cli::Usage(msg).into()
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<Opts> {
    let mut o = Opts::default();
    let mut args = args.peekable();
    while let Some(a) = args.next() {
        match a.as_str() {
            "-h" | "--help" => o.help = true,
            "-V" | "--version" => o.version = true,
            "-j" | "--json" | "-p" | "--pretty" => o.wasm = true,
            "-B" | "--base-btf" => {
                o.base = Some(
                    args.next()
                        .ok_or_else(|| usage(format!("{a} needs a file")))?
                        .into(),
                )
            }
            "--type" => o.types.push(
                args.next()
                    .ok_or_else(|| usage("--type needs a name".into()))?,
            ),
            _ if a.starts_with('-') && a.len() > 1 => {
                return Err(usage(format!("unknown option '{a}'; see --help")))
            }
            _ => o.words.push(a),
        }
    }
    Ok(o)
}

type Handler = fn(&Opts, &[String]) -> Result<()>;

/// Subcommands by keyword path, dispatched from a table as bpftool does.
const COMMANDS: &[(&[&str], Handler)] = &[
    (&["btf", "dump", "file"], do_btf_dump),
    (&["gen", "skeleton"], do_gen_skeleton),
    (&["gen", "min_core_btf"], do_gen_min_core_btf),
];

include!("../args/wasm_bpftool.rs");

fn main() -> ExitCode {
    let code = cli::finish("wasm-bpftool", run());
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// Whether `word` selects keyword `kw` (bpftool accepts any prefix).
fn matches_kw(kw: &str, word: &str) -> bool {
    !word.is_empty() && kw.starts_with(word)
}

fn run() -> Result<()> {
    let opts = parse_args(std::env::args().skip(1))?;
    let words = &opts.words;
    let first = words.first().map(String::as_str);
    if opts.version || first == Some("version") {
        println!("wasm-bpftool {}", env!("CARGO_PKG_VERSION"));
        return Ok(());
    }
    match first {
        None if opts.help => {
            println!("{USAGE}");
            return Ok(());
        }
        None => return Err(usage(format!("no object given\n{USAGE}"))),
        Some("help") => {
            println!("{USAGE}");
            return Ok(());
        }
        Some("completions") => {
            let shell = match words.get(1).map(|s| s.parse::<cli::Shell>()) {
                Some(Ok(s)) if words.len() == 2 => s,
                _ => {
                    return Err(usage(
                        "usage: wasm-bpftool completions {bash|zsh|fish}".into(),
                    ))
                }
            };
            cli::completions(command(), shell, &mut std::io::stdout().lock());
            return Ok(());
        }
        Some("man") => {
            let [_, dir] = &words[..] else {
                return Err(usage("usage: wasm-bpftool man DIR".into()));
            };
            cli::write_man_pages(cli::WASM_BPFTOOL_MAN_PAGES, Path::new(dir))
                .with_context(|| dir.clone())?;
            return Ok(());
        }
        _ => {}
    }
    // `OBJECT help`, `OBJECT -h` and a bare `OBJECT` print that object's usage.
    if let Some((_, text)) = OBJECTS
        .iter()
        .find(|(kw, _)| first.is_some_and(|w| matches_kw(kw, w)))
    {
        if opts.help || words.len() == 1 || words.get(1).is_some_and(|w| w == "help") {
            println!("{text}");
            return Ok(());
        }
    } else if opts.help {
        println!("{USAGE}");
        return Ok(());
    }
    for (path, handler) in COMMANDS {
        if words.len() >= path.len() && path.iter().zip(words).all(|(p, w)| matches_kw(p, w)) {
            return handler(&opts, &words[path.len()..]);
        }
    }
    let help = match OBJECTS
        .iter()
        .find(|(kw, _)| first.is_some_and(|w| matches_kw(kw, w)))
    {
        Some((kw, _)) => format!("wasm-bpftool {kw} help"),
        None => "wasm-bpftool help".to_string(),
    };
    Err(usage(format!(
        "unknown command '{}'; see `{help}`",
        words.join(" ")
    )))
}

fn read(path: &str) -> Result<Input> {
    read_input(Path::new(path)).with_context(|| format!("{path}: cannot read"))
}

fn do_btf_dump(opts: &Opts, rest: &[String]) -> Result<()> {
    let (file, rest) = rest
        .split_first()
        .ok_or_else(|| usage("btf dump file: missing FILE; see `wasm-bpftool btf help`".into()))?;
    let format =
        match rest {
            [] => "raw",
            [kw, f] if kw == "format" => f.as_str(),
            _ => return Err(usage(
                "btf dump: expected 'format {raw|c}' after the file; see `wasm-bpftool btf help`"
                    .into(),
            )),
        };
    if !matches!(format, "raw" | "c") {
        return Err(usage(format!(
            "unknown format '{format}', expected raw or c"
        )));
    }
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
        // "c", checked above.
        (_, false) => {
            emit::c::dump_to(&btf, &opts.types, &mut stdout).with_context(|| file.to_string())?
        }
        (_, true) => stdout.write_all(wasm_header(&btf, file, &opts.types)?.as_bytes()),
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
        _ => {
            return Err(usage(
                "gen skeleton: expected FILE [name NAME]; see `wasm-bpftool gen help`".into(),
            ))
        }
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

/// `gen min_core_btf`: the kernel BTF INPUT cut down to what the objects' CO-RE relocations
/// need, written to OUTPUT as raw BTF.
fn do_gen_min_core_btf(_opts: &Opts, rest: &[String]) -> Result<()> {
    let [input, output, objects @ ..] = rest else {
        return Err(usage(
            "gen min_core_btf: expected INPUT OUTPUT OBJECT [OBJECT...]".into(),
        ));
    };
    if objects.is_empty() {
        return Err(usage(
            "gen min_core_btf: expected INPUT OUTPUT OBJECT [OBJECT...]".into(),
        ));
    }
    let data = read(input)?;
    let kernel = load_btf(&data, None).with_context(|| input.to_string())?;
    let datas = objects
        .iter()
        .map(|o| read(o))
        .collect::<Result<Vec<_>>>()?;
    let objs = objects
        .iter()
        .zip(&datas)
        .map(|(p, d)| ecc::elf::object::Object::parse(d).with_context(|| p.to_string()))
        .collect::<Result<Vec<_>>>()?;
    let pairs: Vec<_> = objects.iter().map(String::as_str).zip(&objs).collect();
    let out = ecc::btfgen::min_core_btf(&kernel, &pairs).with_context(|| input.to_string())?;
    ecc::util::fs::write_atomic(Path::new(output), &out)
        .with_context(|| format!("{output}: cannot write"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clap_description_covers_every_command() {
        let cmd = command();
        cmd.clone().debug_assert();
        for (path, _) in COMMANDS {
            let obj = cmd.find_subcommand(path[0]).expect(path[0]);
            assert!(obj.find_subcommand(path[1]).is_some(), "{path:?}");
            assert!(OBJECTS.iter().any(|(o, _)| *o == path[0]), "{path:?}");
        }
    }
}
