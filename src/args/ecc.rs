// ecc's command line as clap descriptions: the compile's options, each command's, and the
// whole tree. `include!`d by src/bin/ecc.rs, which parses with them, and by build.rs, which
// renders the man pages from them; the includer provides `Template`, `verify_command`,
// `run_command` and (feature `oci`) `login_command`, `logout_command`, `push_command`, `pull_command`.

#[derive(clap::Parser, Debug)]
#[command(
    name = "ecc",
    version,
    about = "Compile an eBPF C program into a BPF object and a eunomia package.json",
    after_help = "Outputs, in the output directory: <name>.bpf.o (DWARF stripped, BTF kept), \
                  <name>.skel.json (the package's meta), package.json, and with --wasm-header ewasm-skel.h.\n\n\
                  Clang flags among the options (-DNAME[=V], -I DIR, -U NAME, -W..., -O...) go to clang, \
                  in order with -a values and the arguments after --.\n\n\
                  `ecc help COMMAND` or `ecc COMMAND --help` explains a command."
)]
struct Cli {
    /// The BPF C source (with --header-only: the header)
    source_path: std::path::PathBuf,
    /// Header whose structs the runtime uses to decode events (first struct first)
    export_event_header: Option<std::path::PathBuf>,
    /// Output directory (created if missing; default: the source's directory)
    #[arg(short = 'o', long, value_name = "DIR")]
    output_path: Option<std::path::PathBuf>,
    /// Print each step, its time and the clang command line
    #[arg(short, long)]
    verbose: bool,
    /// Compile only the header's structs into BTF (SOURCE_PATH is the header)
    #[arg(long)]
    header_only: bool,
    /// Also write ewasm-skel.h, package.json as a C string for Wasm programs
    #[arg(long)]
    wasm_header: bool,
    /// Extra clang flags (repeatable; each value is split on whitespace, as the original did)
    // This and `clang_args` are taken out by `split_clang_args` before clap parses, to keep
    // their order with the clang flags given directly; they are here for --help.
    #[arg(short = 'a', long, value_name = "FLAG", allow_hyphen_values = true)]
    additional_cflags: Vec<String>,
    /// clang binary (path or name in PATH; default: clang)
    #[arg(short = 'c', long, value_name = "PATH")]
    clang_bin: Option<std::path::PathBuf>,
    /// Strip DWARF with this llvm-strip instead of the built-in stripper
    #[arg(short = 'l', long, value_name = "PATH")]
    llvm_strip_bin: Option<std::path::PathBuf>,
    /// Do not write package.json
    #[arg(short = 'n', long)]
    no_generate_package_json: bool,
    /// Kernel BTF for vmlinux.h (default: /sys/kernel/btf/vmlinux), e.g. another machine's
    #[arg(long, value_name = "FILE")]
    btf: Option<std::path::PathBuf>,
    /// Architecture for __TARGET_ARCH_* (x86, arm64, riscv, ...; default: this host's)
    #[arg(long, value_name = "ARCH")]
    target_arch: Option<String>,
    /// Write a make-style dependency file listing every file clang read
    #[arg(short = 'M', long, value_name = "FILE")]
    depfile: Option<std::path::PathBuf>,
    /// Directory holding libbpf's headers (bpf/bpf_helpers.h), searched before the system's
    #[arg(long, value_name = "DIR")]
    libbpf_include: Option<std::path::PathBuf>,
    /// Also write <name>.tar: package.json plus, for every kernel of the BTFHub archive,
    /// the minimal BTF the program needs there (for kernels without BTF)
    #[arg(short = 'b', long)]
    btfgen: bool,
    /// The BTFHub archive (ID/VERSION_ID/ARCH/RELEASE.btf[.tar.xz]) for --btfgen
    /// (default: ~/.cache/eunomia/btfhub-archive)
    #[arg(long, value_name = "DIR", requires = "btfgen")]
    btfhub_archive: Option<std::path::PathBuf>,
    /// Do not use (or build) the precompiled vmlinux.h (the outputs are the same; slower)
    #[arg(long)]
    no_pch: bool,
    /// Extra clang arguments, passed as they are
    #[arg(last = true, value_name = "CLANG_ARGS")]
    clang_args: Vec<String>,
}

#[derive(clap::Parser, Debug)]
#[command(
    name = "ecc init",
    about = "Create a new project from a template: an eBPF exec tracer that builds with make",
    after_help = "NAME is the directory to create; its last component names the project's files and \
                  must be a C identifier. `make` builds it, `sudo make run` runs it."
)]
struct InitArgs {
    /// The project directory to create (must not exist)
    name: std::path::PathBuf,
    /// What the project builds
    #[arg(short, long, value_enum, default_value = "package")]
    template: Template,
}

#[derive(clap::Parser, Debug)]
#[command(
    name = "ecc help",
    about = "Print the help of ecc or of one of its commands"
)]
struct HelpArgs {
    /// The command to explain (default: ecc itself)
    command: Option<String>,
}

#[derive(clap::Parser, Debug)]
#[command(
    name = "ecc completions",
    about = "Print a shell completion script for ecc",
    after_help = "bash: ecc completions bash > /etc/bash_completion.d/ecc\n\
                  zsh:  ecc completions zsh > \"${fpath[1]}/_ecc\"\n\
                  fish: ecc completions fish > ~/.config/fish/completions/ecc.fish"
)]
struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_parser = ["bash", "zsh", "fish"])]
    shell: String,
}

#[derive(clap::Parser, Debug)]
#[command(
    name = "ecc man",
    about = "Write the man pages of ecc and its commands (ecc.1, ecc-run.1, ...) into DIR"
)]
struct ManArgs {
    /// Where to write them, e.g. /usr/local/share/man/man1
    dir: std::path::PathBuf,
}

#[derive(clap::Parser, Debug)]
#[command(
    name = "ecc build-wasm",
    about = "Compile a Wasm user-space program (C, against ecc's libbpf-wasm.h) for `ecc run`",
    after_help = "Needs Debian's clang, lld, wasi-libc and libclang-rt-14-dev-wasm32. \
                  The guest includes its `wasm-bpftool gen skeleton -j` skeleton."
)]
struct BuildWasm {
    /// Output module (default: the first source with .wasm, beside it)
    #[arg(short = 'o', long, value_name = "OUT")]
    output: Option<std::path::PathBuf>,
    /// clang binary (path or name in PATH; default: clang)
    #[arg(short = 'c', long, value_name = "PATH")]
    clang_bin: Option<std::path::PathBuf>,
    /// C sources of the guest
    #[arg(required = true, value_name = "SRC.c")]
    sources: Vec<std::path::PathBuf>,
    /// Extra clang arguments, passed as they are
    #[arg(last = true, value_name = "CLANG_ARGS")]
    clang_args: Vec<std::ffi::OsString>,
}

/// Builds one command's description.
type Describe = fn() -> clap::Command;

/// ecc's commands in `ecc --help` order, with their descriptions.
const COMMANDS: &[(&str, Describe)] = &[
    ("init", <InitArgs as clap::CommandFactory>::command),
    ("verify", verify_command),
    ("run", run_command),
    #[cfg(feature = "oci")]
    ("login", login_command),
    #[cfg(feature = "oci")]
    ("logout", logout_command),
    #[cfg(feature = "oci")]
    ("push", push_command),
    #[cfg(feature = "oci")]
    ("pull", pull_command),
    ("build-wasm", <BuildWasm as clap::CommandFactory>::command),
    ("help", <HelpArgs as clap::CommandFactory>::command),
    (
        "completions",
        <CompletionsArgs as clap::CommandFactory>::command,
    ),
    ("man", <ManArgs as clap::CommandFactory>::command),
];

/// The whole command line: the compile's options and every subcommand.
fn root_command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
        .subcommands(COMMANDS.iter().map(|(name, command)| command().name(*name)))
        .args_conflicts_with_subcommands(true)
        .disable_help_subcommand(true)
        .subcommand_value_name("COMMAND")
        .subcommand_help_heading("Commands")
}
