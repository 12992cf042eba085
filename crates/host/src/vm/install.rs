//! What the VM testbed runs on: the cache `scripts/setup-vm.sh` fills (virtme-ng's venv, the
//! guest kernel), QEMU and its version, the guest kernel (checked to be one), and whether KVM
//! can run a stock kernel here or the guest falls back to TCG (software emulation).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Error;

/// Where `scripts/setup-vm.sh` installs virtme-ng and the guest kernel; `$XDPLAT_VM_CACHE`
/// overrides. Not under /var/cache, /var/tmp, /var/log or /var/lib/apt: virtme-ng mounts tmpfs
/// there in the guest, which reads the modules and its own guest tools from the cache.
pub const DEFAULT_CACHE: &str = "/opt/xdplat-vm";
pub const CACHE_ENV: &str = "XDPLAT_VM_CACHE";
/// The fix printed whenever something of the VM testbed is missing.
pub const SETUP_HINT: &str =
    "run `scripts/setup.sh --with-vm` (installs QEMU, virtme-ng and a guest kernel)";
/// Free space the state directory needs: virtme-ng's initramfs, the console log, keys.
pub const MIN_FREE_MB: u64 = 64;

/// The cache directory.
pub fn cache_dir() -> PathBuf {
    std::env::var_os(CACHE_ENV)
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_CACHE), PathBuf::from)
}

/// virtme-ng's `vng` in the cache's venv.
pub fn vng() -> Result<PathBuf, Error> {
    let p = cache_dir().join("venv/bin/vng");
    if p.is_file() {
        Ok(p)
    } else {
        Err(Error::BadInput {
            param: "--kind",
            value: "vm".into(),
            why: format!(
                "virtme-ng is not installed ({} is missing): {SETUP_HINT}",
                p.display()
            ),
        })
    }
}

/// QEMU's version (major, minor) from `qemu-system-x86_64 --version`.
pub fn qemu_version() -> Result<(u32, u32), Error> {
    let missing = |why: String| Error::BadInput {
        param: "--kind",
        value: "vm".into(),
        why: format!("{why}: {SETUP_HINT}"),
    };
    let out = Command::new("qemu-system-x86_64")
        .arg("--version")
        .output()
        .map_err(|e| missing(format!("qemu-system-x86_64 cannot be run ({e})")))?;
    let text = String::from_utf8_lossy(&out.stdout);
    parse_qemu_version(&text).ok_or_else(|| {
        missing(format!(
            "unexpected `qemu-system-x86_64 --version`: {text:?}"
        ))
    })
}

fn parse_qemu_version(text: &str) -> Option<(u32, u32)> {
    let rest = text.split("version ").nth(1)?;
    let mut it = rest.split(|c: char| !c.is_ascii_digit());
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// A guest kernel: the image and its release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kernel {
    pub image: PathBuf,
    pub release: String,
}

/// The offset of the x86 boot protocol's "HdrS" magic in a bzImage.
const HDRS_OFFSET: usize = 0x202;

/// Checks that `path` is an x86 Linux kernel image (bzImage) and reads its release from the
/// version string the boot header points to.
pub fn check_kernel(path: &Path) -> Result<Kernel, Error> {
    let bad = |why: String| Error::BadInput {
        param: "--kernel",
        value: path.display().to_string(),
        why,
    };
    let bytes = std::fs::read(path).map_err(|e| {
        bad(format!(
            "cannot be read ({e}); give a kernel image (vmlinuz), or leave --kernel out to use the host's or the cached one"
        ))
    })?;
    if bytes.len() < 0x210 || &bytes[HDRS_OFFSET..HDRS_OFFSET + 4] != b"HdrS" {
        return Err(bad(
            "is not a Linux kernel image (no x86 boot header \"HdrS\" at 0x202): give a bzImage such as /boot/vmlinuz-RELEASE".into(),
        ));
    }
    // kernel_version (offset 0x20e): a pointer to the version string, minus 0x200
    let ptr = u16::from_le_bytes([bytes[0x20e], bytes[0x20f]]) as usize + 0x200;
    let release = bytes
        .get(ptr..)
        .and_then(|s| s.split(|b| *b == b' ' || *b == 0).next())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("has a boot header but no version string".into()))?;
    Ok(Kernel {
        image: path.to_path_buf(),
        release,
    })
}

/// The guest kernel: `--kernel`, else the host's own (`/boot/vmlinuz-$(uname -r)` with its
/// modules), else the one `scripts/setup-vm.sh` put in the cache.
pub fn find_kernel(explicit: Option<&Path>) -> Result<Kernel, Error> {
    if let Some(p) = explicit {
        let name = p.to_string_lossy();
        if p.exists() || name.contains('/') {
            return check_kernel(p);
        }
        return named_kernel(&name);
    }
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let own = PathBuf::from(format!("/boot/vmlinuz-{release}"));
    if own.is_file() && Path::new(&format!("/lib/modules/{release}/kernel")).is_dir() {
        return check_kernel(&own);
    }
    let boot = cache_dir().join("kernel/current/root/boot");
    let image = std::fs::read_dir(&boot)
        .ok()
        .and_then(|d| {
            d.flatten()
                .map(|e| e.path())
                .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-")))
        })
        .ok_or_else(|| Error::BadInput {
            param: "--kernel",
            value: String::new(),
            why: format!(
                "no guest kernel: the host has none in /boot with modules, and {} holds none; {SETUP_HINT}, or give --kernel PATH",
                boot.display()
            ),
        })?;
    check_kernel(&image)
}

/// A kernel of the cache by name: a series of the kernel matrix (`6.1`: `kernel/series-6.1`,
/// fetched by `XDPLAT_VM_KERNELS="6.1" scripts/setup-vm.sh`) or a release (`6.1.0-57-amd64`).
pub fn named_kernel(name: &str) -> Result<Kernel, Error> {
    let dir = cache_dir().join("kernel");
    let image_in = |d: &Path| -> Option<PathBuf> {
        std::fs::read_dir(d.join("root/boot"))
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
            })
    };
    let found = [dir.join(format!("series-{name}")), dir.join(name)]
        .iter()
        .find_map(|d| image_in(d));
    if let Some(image) = found {
        return check_kernel(&image);
    }
    let missing = std::fs::read_to_string(dir.join(format!("series-{name}.missing")))
        .map(|w| format!(" (its fetch failed: {})", w.trim()))
        .unwrap_or_default();
    let known = cached_series();
    Err(Error::BadInput {
        param: "--kernel",
        value: name.into(),
        why: format!(
            "no such file, and no kernel of that name in {}{missing}: give a kernel image's path, or one of {}, or fetch the series with XDPLAT_VM_KERNELS=\"{name}\" scripts/setup-vm.sh",
            dir.display(),
            if known.is_empty() {
                "none cached".to_string()
            } else {
                known.join(", ")
            }
        ),
    })
}

/// The kernel matrix's series in the cache (`6.1`, `6.12`, ...), sorted by version.
pub fn cached_series() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(cache_dir().join("kernel"))
        .map(|d| {
            d.flatten()
                .filter_map(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    let s = n.strip_prefix("series-")?;
                    (!s.ends_with(".missing")).then(|| s.to_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort_by_key(|s| {
        s.split('.')
            .map(|p| p.parse::<u32>().unwrap_or(0))
            .collect::<Vec<_>>()
    });
    v
}

/// The series of the kernel matrix that could not be fetched, with why
/// (`kernel/series-S.missing`).
pub fn missing_series() -> Vec<(String, String)> {
    std::fs::read_dir(cache_dir().join("kernel"))
        .map(|d| {
            d.flatten()
                .filter_map(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    let s = n
                        .strip_prefix("series-")?
                        .strip_suffix(".missing")?
                        .to_owned();
                    let why = std::fs::read_to_string(e.path()).unwrap_or_default();
                    Some((s, why.trim().to_owned()))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// How the guest's CPU runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accel {
    Kvm,
    /// Software emulation, and why KVM was not used.
    Tcg {
        why: String,
    },
}

impl Accel {
    pub fn name(&self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg { .. } => "tcg",
        }
    }
}

/// What the user asked for (`--accel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccelChoice {
    #[default]
    Auto,
    Kvm,
    Tcg,
}

impl std::str::FromStr for AccelChoice {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "auto" => Ok(AccelChoice::Auto),
            "kvm" => Ok(AccelChoice::Kvm),
            "tcg" => Ok(AccelChoice::Tcg),
            _ => Err(Error::BadInput {
                param: "--accel",
                value: s.into(),
                why: "expected auto, kvm or tcg".into(),
            }),
        }
    }
}

/// KVM when /dev/kvm can be opened and is a stock KVM; TCG otherwise. `/dev/kvm` backed by PVM
/// (`/sys/module/kvm_pvm`) boots only PVM guest kernels: a stock kernel stops in its
/// decompressor with "KVM internal error ... emulation failure" (measured), so it means TCG.
pub fn detect_accel(choice: AccelChoice) -> Result<Accel, Error> {
    detect_accel_at(choice, Path::new("/dev/kvm"), Path::new("/sys/module"))
}

fn detect_accel_at(choice: AccelChoice, kvm: &Path, modules: &Path) -> Result<Accel, Error> {
    let usable = || -> Result<(), String> {
        if !kvm.exists() {
            return Err(format!("{} does not exist (no KVM here)", kvm.display()));
        }
        if modules.join("kvm_pvm").exists() {
            return Err(format!(
                "{} is PVM (module kvm_pvm): it boots only PVM guest kernels, a stock kernel stops in its decompressor",
                kvm.display()
            ));
        }
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(kvm)
            .map(|_| ())
            .map_err(|e| format!("{} cannot be opened: {e}", kvm.display()))
    };
    match (choice, usable()) {
        (AccelChoice::Tcg, _) => Ok(Accel::Tcg {
            why: "--accel tcg".into(),
        }),
        (_, Ok(())) => Ok(Accel::Kvm),
        (AccelChoice::Auto, Err(why)) => Ok(Accel::Tcg { why }),
        (AccelChoice::Kvm, Err(why)) => Err(Error::BadInput {
            param: "--accel",
            value: "kvm".into(),
            why: format!("{why}; use --accel auto or tcg"),
        }),
    }
}

/// Free megabytes on the filesystem holding `dir` (or its nearest existing parent).
pub fn free_mb(dir: &Path) -> Option<u64> {
    let mut p = dir;
    while !p.exists() {
        p = p.parent()?;
    }
    let st = nix::sys::statvfs::statvfs(p).ok()?;
    Some(st.blocks_available() as u64 * st.fragment_size() as u64 / (1024 * 1024))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_versions() {
        assert_eq!(
            parse_qemu_version("QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2)\n"),
            Some((10, 0))
        );
        assert_eq!(
            parse_qemu_version("QEMU emulator version 7.2.15\n"),
            Some((7, 2))
        );
        assert_eq!(parse_qemu_version("nonsense"), None);
    }

    #[test]
    fn not_a_kernel_is_bad_input() {
        let dir = std::env::temp_dir().join(format!("xdplat-vm-kernel-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("not-a-kernel");
        std::fs::write(&f, vec![0u8; 4096]).unwrap();
        let e = check_kernel(&f).unwrap_err();
        assert!(e.is_bad_input(), "{e}");
        assert!(e.to_string().contains("--kernel"), "{e}");
        // a minimal bzImage header with a version string
        let mut img = vec![0u8; 0x400];
        img[HDRS_OFFSET..HDRS_OFFSET + 4].copy_from_slice(b"HdrS");
        img[0x20e..0x210].copy_from_slice(&(0x300u16 - 0x200).to_le_bytes());
        img[0x300..0x310].copy_from_slice(b"7.3.4-test (x@y)");
        std::fs::write(&f, &img).unwrap();
        assert_eq!(check_kernel(&f).unwrap().release, "7.3.4-test");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn pvm_means_tcg() {
        let dir = std::env::temp_dir().join(format!("xdplat-vm-accel-{}", std::process::id()));
        let modules = dir.join("module");
        std::fs::create_dir_all(modules.join("kvm_pvm")).unwrap();
        let kvm = dir.join("kvm");
        std::fs::write(&kvm, b"").unwrap();
        let a = detect_accel_at(AccelChoice::Auto, &kvm, &modules).unwrap();
        assert!(
            matches!(&a, Accel::Tcg { why } if why.contains("PVM")),
            "{a:?}"
        );
        assert!(
            detect_accel_at(AccelChoice::Kvm, &kvm, &modules)
                .unwrap_err()
                .is_bad_input()
        );
        std::fs::remove_dir_all(modules.join("kvm_pvm")).unwrap();
        assert_eq!(
            detect_accel_at(AccelChoice::Auto, &kvm, &modules).unwrap(),
            Accel::Kvm
        );
        let none = detect_accel_at(AccelChoice::Auto, &dir.join("absent"), &modules).unwrap();
        assert_eq!(none.name(), "tcg");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
