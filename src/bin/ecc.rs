fn main() {
    // `ecc verify` / `ecc run` live in the library (ecc::loader::cli).
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    match args.get(1).and_then(|a| a.to_str()) {
        Some("verify") => std::process::exit(ecc::loader::cli::main_verify(args[2..].to_vec())),
        Some("run") => std::process::exit(ecc::loader::cli::main_run(args[2..].to_vec())),
        _ => {}
    }
}
