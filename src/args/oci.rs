// The command lines of `ecc login`, `logout`, `push` and `pull`, and the registry options of
// `ecc run`: clap definitions only, `include!`d by src/oci/cli.rs, which parses with them, and
// by build.rs, which renders the man pages from them.

/// The size limit of a pulled file unless `--max-size` says otherwise.
pub const DEFAULT_MAX_BLOB_BYTES: u64 = 256 << 20;

/// How to reach the registry; shared by every registry command and `ecc run`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct TransportArgs {
    /// Talk plain HTTP instead of HTTPS (only for registries you trust the network to)
    #[arg(long)]
    pub plain_http: bool,
    /// Also trust the CA certificate(s) in FILE (PEM or DER) for HTTPS
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<std::path::PathBuf>,
}

#[derive(clap::Parser, Debug)]
#[command(
    name = "ecc login",
    about = "Check credentials against a registry and store them in docker's config.json"
)]
struct LoginArgs {
    /// Registry host[:port] (e.g. ghcr.io, localhost:5000)
    registry: String,
    /// User name
    #[arg(short = 'u', long)]
    username: String,
    /// Read the password from standard input
    #[arg(long)]
    password_stdin: bool,
    #[command(flatten)]
    transport: TransportArgs,
}

#[derive(clap::Parser, Debug)]
#[command(name = "ecc logout", about = "Remove a registry's stored credentials")]
struct LogoutArgs {
    /// Registry host[:port]
    registry: String,
}

#[derive(clap::Parser, Debug)]
#[command(
    name = "ecc push",
    about = "Push a package.json or a Wasm app (.wasm) to a registry as one OCI artifact"
)]
struct PushArgs {
    /// package.json or .wasm
    file: std::path::PathBuf,
    /// host[:port]/repository[:tag]
    reference: String,
    #[command(flatten)]
    transport: TransportArgs,
}

#[derive(clap::Parser, Debug)]
#[command(
    name = "ecc pull",
    about = "Pull an artifact pushed by `ecc push` and write it under its original file name"
)]
struct PullArgs {
    /// host[:port]/repository[:tag|@sha256:digest]
    reference: String,
    /// Directory to write to (default: the current directory)
    #[arg(short = 'o', long, value_name = "DIR")]
    output: Option<std::path::PathBuf>,
    /// Refuse files larger than BYTES
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_BLOB_BYTES)]
    max_size: u64,
    #[command(flatten)]
    transport: TransportArgs,
}

