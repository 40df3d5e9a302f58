// The `ecc init` templates as a clap value: `include!`d by src/init.rs and by build.rs (for
// the man pages), so there is one list.

/// The project templates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Template {
    /// a eunomia package: `make` builds package.json, `make run` runs `ecc run`
    Package,
    /// the same eBPF side and a native loader on its libbpf skeleton
    Libbpf,
    /// the same eBPF side and a Wasm guest app.c, built by `ecc build-wasm`, run by `ecc run app.wasm`
    Wasm,
}
