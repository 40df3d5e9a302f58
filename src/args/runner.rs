// The command lines of `ecc verify` and `ecc run` (the runner's own options): clap
// definitions only, `include!`d by src/runner/cli.rs, which parses with them, and by build.rs,
// which renders the man pages from them; the includer provides `TransportArgs` (src/args/oci.rs).

#[derive(clap::Parser, Debug)]
#[command(
    name = "ecc verify",
    about = "Load every program of a package or BPF object into the kernel verifier"
)]
struct VerifyArgs {
    /// package.json, a package tar from `ecc --btfgen`, or X.bpf.o
    input: std::path::PathBuf,
    /// Kernel BTF to relocate against (default: /sys/kernel/btf/vmlinux)
    #[arg(long, value_name = "FILE")]
    btf: Option<std::path::PathBuf>,
    /// Relocate against the package tar's BTF for this kernel even if it has its own
    #[arg(long)]
    btf_from_package: bool,
    /// Print the report as JSON
    #[arg(long)]
    json: bool,
    /// Print each program's whole verifier log (kernel log level 1 with statistics: every
    /// instruction the verifier walked, then its counts), not only a rejection's last lines
    #[arg(long)]
    log: bool,
    /// Pass libbpf's messages, debug ones included, to stderr
    #[arg(long, short = 'v')]
    verbose: bool,
}

#[derive(clap::Parser, Debug)]
#[command(
    name = "ecc run",
    about = "Load and attach a package's programs and print its events",
    after_help = "Program options go after the package; `ecc run PACKAGE -h` lists them."
)]
struct RunArgs {
    /// Print one JSON object per event
    #[arg(long)]
    json: bool,
    /// Stop after SECS seconds (default: run until Ctrl-C or SIGTERM)
    #[arg(long, value_name = "SECS")]
    duration: Option<f64>,
    /// Kernel BTF to relocate against (default: /sys/kernel/btf/vmlinux)
    #[arg(long, value_name = "FILE")]
    btf: Option<std::path::PathBuf>,
    /// Relocate against the package tar's BTF for this kernel even if it has its own
    #[arg(long)]
    btf_from_package: bool,
    /// Interface for XDP, tc and socket programs, over the package's @ifindex/@tchook (default: 1, lo)
    #[arg(long, value_name = "N", conflicts_with = "ifname")]
    ifindex: Option<u32>,
    /// Interface by name, as --ifindex
    #[arg(long, value_name = "NAME")]
    ifname: Option<String>,
    /// Cgroup for cgroup and sockops programs (default: the cgroup v2 root)
    #[arg(long, value_name = "PATH")]
    cgroup: Option<std::path::PathBuf>,
    /// Print the counters (.bss) and hash/array maps when the run ends (always done when the
    /// program has no output map)
    #[arg(long)]
    dump_at_exit: bool,
    /// Print this map's events (or entries) instead of the one chosen by the runtime's rule
    #[arg(long, value_name = "NAME")]
    map: Option<String>,
    /// Serve the maps at http://ADDR/metrics in the Prometheus text format while running;
    /// a bare PORT binds loopback (127.0.0.1:PORT); other interfaces need an explicit address
    #[arg(long, value_name = "ADDR")]
    metrics: Option<String>,
    /// Pass libbpf's messages, debug ones included, to stderr
    #[arg(long, short = 'v')]
    verbose: bool,
    /// How to reach the registry when INPUT is a reference; the binary pulls it before
    /// the run (these options are listed here for help and completions).
    #[cfg(feature = "oci")]
    #[command(flatten)]
    #[allow(dead_code)]
    registry: TransportArgs,
    /// package.json, a package tar from `ecc --btfgen`, X.bpf.o, a Wasm app (.wasm), or a
    /// registry reference (host[:port]/repo[:tag|@sha256:digest])
    input: std::path::PathBuf,
    /// The Wasm host's options, for `ecc run [OPTIONS] app.wasm`; src/runner/wasm/cli.rs
    /// parses them, a package refuses them. Last, as their heading would also take any
    /// argument after them.
    #[cfg(feature = "wasm")]
    #[command(flatten)]
    wasm: WasmHostArgs,
}

/// What only a Wasm guest has: host directories, environment variables, the module cache.
#[cfg(feature = "wasm")]
#[derive(clap::Args, Debug, Default)]
#[command(next_help_heading = "Options of a Wasm app (ecc run [OPTIONS] app.wasm [GUEST ARGS])")]
pub(crate) struct WasmHostArgs {
    /// Let the guest open host directory HOST, as GUEST (default: the same path)
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    pub(crate) dirs: Vec<String>,
    /// Set an environment variable for the guest (it sees none unless given)
    #[arg(long = "env", value_name = "NAME=VALUE")]
    pub(crate) envs: Vec<String>,
    /// Compile the module every time instead of using the cache
    #[arg(long)]
    pub(crate) no_cache: bool,
}
