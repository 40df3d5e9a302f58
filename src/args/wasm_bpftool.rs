// wasm-bpftool's grammar as a clap description: `include!`d by src/bin/wasm-bpftool.rs
// (completions) and by build.rs (the man pages).

/// The grammar as a clap description, for completions and man pages (bpftool's keyword
/// grammar is parsed by hand above).
fn command() -> clap::Command {
    use clap::{Arg, ArgAction, Command, ValueHint};
    let file = || {
        Arg::new("FILE")
            .required(true)
            .value_hint(ValueHint::FilePath)
    };
    Command::new("wasm-bpftool")
        .version(env!("CARGO_PKG_VERSION"))
        .about("A bpftool that knows Wasm: BTF dumps, Wasm layout headers and skeletons")
        .disable_help_subcommand(true)
        .arg(
            Arg::new("json")
                .short('j')
                .long("json")
                .global(true)
                .action(ArgAction::SetTrue)
                .help("Emit for Wasm guests (wasm32 layout headers, libbpf-wasm.h skeletons)"),
        )
        .arg(
            Arg::new("base-btf")
                .short('B')
                .long("base-btf")
                .global(true)
                .value_name("FILE")
                .value_hint(ValueHint::FilePath)
                .help("Base BTF for split BTF (e.g. /sys/kernel/btf/vmlinux for a module)"),
        )
        .subcommand(
            Command::new("btf").about("Dump BTF").subcommand(
                Command::new("dump")
                    .about("Dump the BTF of a BPF object or a raw BTF file")
                    .arg(Arg::new("kind").required(true).value_parser(["file"]))
                    .arg(file())
                    .arg(Arg::new("format").value_parser(["format"]))
                    .arg(Arg::new("FORMAT").value_parser(["raw", "c"]))
                    .arg(
                        Arg::new("type")
                            .long("type")
                            .value_name("NAME")
                            .action(ArgAction::Append)
                            .help("With format c: only NAME and the types it needs"),
                    ),
            ),
        )
        .subcommand(
            Command::new("gen")
                .about("Generate code")
                .subcommand(
                    Command::new("skeleton")
                        .about("A libbpf skeleton header for a BPF object, on stdout")
                        .arg(file())
                        .arg(Arg::new("name").value_parser(["name"]))
                        .arg(Arg::new("NAME")),
                )
                .subcommand(
                    Command::new("min_core_btf")
                        .about(
                            "The kernel BTF cut down to what the objects' CO-RE relocations need",
                        )
                        .arg(
                            Arg::new("INPUT")
                                .required(true)
                                .value_hint(ValueHint::FilePath),
                        )
                        .arg(
                            Arg::new("OUTPUT")
                                .required(true)
                                .value_hint(ValueHint::FilePath),
                        )
                        .arg(
                            Arg::new("OBJECT")
                                .required(true)
                                .num_args(1..)
                                .value_hint(ValueHint::FilePath),
                        ),
                ),
        )
        .subcommand(
            Command::new("completions")
                .about("Print a shell completion script")
                .arg(
                    Arg::new("SHELL")
                        .required(true)
                        .value_parser(["bash", "zsh", "fish"]),
                ),
        )
        .subcommand(
            Command::new("man")
                .about("Write the man pages into DIR")
                .arg(
                    Arg::new("DIR")
                        .required(true)
                        .value_hint(ValueHint::DirPath),
                ),
        )
        .subcommand(Command::new("version").about("Print the version"))
}
