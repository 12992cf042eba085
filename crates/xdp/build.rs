//! Compiles `src/bpf/{probe,reflect,helpers}.bpf.c` with clang and generates
//! their libbpf-rs skeletons into `OUT_DIR/{probe,reflect,helpers}.skel.rs`
//! (included by `src/skel.rs`).

use std::env;
use std::path::{Path, PathBuf};

use libbpf_cargo::SkeletonBuilder;

const SOURCES: [(&str, &str); 3] = [
    ("src/bpf/probe.bpf.c", "probe.skel.rs"),
    ("src/bpf/reflect.bpf.c", "reflect.skel.rs"),
    ("src/bpf/helpers.bpf.c", "helpers.skel.rs"),
];

/// Debian and Ubuntu keep `asm/types.h` under `/usr/include/<multiarch>`,
/// which `clang -target bpf` does not search by itself.
fn multiarch_include() -> Option<PathBuf> {
    let arch = env::var("CARGO_CFG_TARGET_ARCH").ok()?;
    let endian = env::var("CARGO_CFG_TARGET_ENDIAN").unwrap_or_default();
    let triple = match (arch.as_str(), endian.as_str()) {
        ("x86_64", _) => "x86_64-linux-gnu",
        ("x86", _) => "i386-linux-gnu",
        ("aarch64", _) => "aarch64-linux-gnu",
        ("arm", _) => "arm-linux-gnueabihf",
        ("riscv64", _) => "riscv64-linux-gnu",
        ("powerpc64", "little") => "powerpc64le-linux-gnu",
        ("powerpc64", _) => "powerpc64-linux-gnu",
        ("s390x", _) => "s390x-linux-gnu",
        ("loongarch64", _) => "loongarch64-linux-gnu",
        (other, _) => return Some(PathBuf::from(format!("/usr/include/{other}-linux-gnu"))),
    };
    let dir = Path::new("/usr/include").join(triple);
    dir.is_dir().then_some(dir)
}

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"));
    let mut args = vec!["-O2".to_owned(), "-g".to_owned(), "-Wall".to_owned()];
    if let Some(dir) = multiarch_include().filter(|d| d.is_dir()) {
        args.push(format!("-I{}", dir.display()));
    }
    for (src, skel) in SOURCES {
        SkeletonBuilder::new()
            .source(src)
            .clang_args(args.clone())
            .build_and_generate(out.join(skel))
            .unwrap_or_else(|e| panic!("building the XDP program {src} with clang: {e:#}"));
        println!("cargo:rerun-if-changed={src}");
    }
}
