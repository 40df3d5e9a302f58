// Man pages from a clap description: `include!`d by build.rs, which renders them into
// OUT_DIR for the binaries to embed (`ecc man`, `wasm-bpftool man`, scripts/install.sh).

/// The pages of `cmd` and of each visible subcommand (`ecc.1`, `ecc-run.1`, ...): file name
/// and roff text.
pub fn render_man_pages(cmd: &clap::Command) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut cmd = cmd.clone();
    cmd.build();
    let mut pages = vec![(cmd.get_name().to_string(), cmd.clone())];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("{}-{}", cmd.get_name(), sub.get_name());
        let bin = format!("{} {}", cmd.get_name(), sub.get_name());
        pages.push((name.clone(), sub.clone().name(name).bin_name(bin)));
    }
    let mut out = Vec::new();
    for (name, page) in pages {
        let mut text = Vec::new();
        clap_mangen::Man::new(page).render(&mut text)?;
        out.push((format!("{name}.1"), text));
    }
    Ok(out)
}
