//! Which kernel BTF libbpf relocates against: the one given with `--btf`, else the running
//! kernel's own, else (or with `--btf-from-package`) the package's minimal BTF for this
//! kernel, chosen by os-release ID and VERSION_ID, machine and `uname -r`.

use std::path::{Path, PathBuf};

use super::{Error, Input};
use crate::btfgen::archive::{KernelId, TAR_DIR};

const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

/// The chosen BTF; a package's BTF lives in a temporary file for as long as this does.
pub struct KernelBtf {
    path: Option<PathBuf>,
    _file: Option<tempfile::NamedTempFile>,
}

impl KernelBtf {
    /// The custom BTF to give libbpf, or `None` for the kernel's own.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

pub fn choose(
    input: &Input,
    given: Option<PathBuf>,
    from_package: bool,
) -> Result<KernelBtf, Error> {
    let none = KernelBtf {
        path: given,
        _file: None,
    };
    if none.path.is_some() || !from_package && Path::new(VMLINUX).exists() {
        return Ok(none);
    }
    if input.btfs.is_empty() {
        if from_package {
            return Err(Error::input(
                &input.path,
                "--btf-from-package: the input carries no kernel BTF (build a package tar with `ecc --btfgen`)",
            ));
        }
        // No BTF anywhere: libbpf says so when a relocation needs it.
        return Ok(none);
    }
    let k = KernelId::running().map_err(|e| Error::Usage(e.to_string()))?;
    pick(input, &k)
}

/// The package's BTF for kernel `k`, written out for libbpf.
fn pick(input: &Input, k: &KernelId) -> Result<KernelBtf, Error> {
    let Some((_, data)) = input.btfs.iter().find(|(id, _)| id == k) else {
        let have: Vec<String> = input.btfs.iter().map(|(id, _)| id.path()).collect();
        return Err(Error::input(
            &input.path,
            format!(
                "no BTF for this kernel in the package: looked for {TAR_DIR}/{k} (os-release ID '{}', VERSION_ID '{}', machine {}, release {}); it has {}",
                k.id,
                k.version_id,
                k.arch,
                k.release,
                have.join(", ")
            ),
        ));
    };
    let mut file = tempfile::Builder::new()
        .prefix("ecc-btf-")
        .suffix(".btf")
        .tempfile()
        .map_err(|e| Error::Usage(format!("cannot write a temporary BTF file: {e}")))?;
    std::io::Write::write_all(&mut file, data)
        .map_err(|e| Error::Usage(format!("cannot write a temporary BTF file: {e}")))?;
    Ok(KernelBtf {
        path: Some(file.path().to_path_buf()),
        _file: Some(file),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(btfs: Vec<(KernelId, Vec<u8>)>) -> Input {
        Input {
            path: PathBuf::from("p.tar"),
            elf: Vec::new(),
            obj_name: "p".into(),
            meta: None,
            btfs,
        }
    }

    #[test]
    fn picks_the_running_kernel_or_names_it() {
        let k = KernelId::from_path("ubuntu/20.04/x86_64/5.4.0-42-generic.btf").unwrap();
        let other = KernelId::from_path("ubuntu/20.04/x86_64/5.4.0-99-generic.btf").unwrap();
        let inp = input(vec![(other.clone(), vec![9]), (k.clone(), vec![1, 2])]);
        let got = pick(&inp, &k).unwrap();
        assert_eq!(std::fs::read(got.path().unwrap()).unwrap(), [1, 2]);
        let missing = KernelId::from_path("centos/7/x86_64/3.10.0.btf").unwrap();
        let e = pick(&inp, &missing).err().unwrap().to_string();
        assert!(
            e.contains("btfhub-archive/centos/7/x86_64/3.10.0.btf"),
            "{e}"
        );
        assert!(e.contains("5.4.0-99-generic"), "{e}");
        let e = choose(&input(vec![]), None, true)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("--btf-from-package"), "{e}");
    }
}
