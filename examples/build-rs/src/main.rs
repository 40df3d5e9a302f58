//! Embeds the package that build.rs made and prints what it holds.

const PACKAGE: &str = include_str!(concat!(env!("OUT_DIR"), "/package.json"));
const OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/minitrace.bpf.o"));

fn main() {
    let elf = OBJECT.starts_with(b"\x7fELF");
    let prog = PACKAGE.contains("\"handle_exec\"");
    println!("package.json: {} bytes; object: {} bytes, ELF: {elf}; program handle_exec: {prog}", PACKAGE.len(), OBJECT.len());
}
