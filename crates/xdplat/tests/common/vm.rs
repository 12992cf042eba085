//! Whether the VM tests can run here: root, QEMU, virtme-ng and a guest kernel.

use host::test_support::{Missing, require_root, skip};

/// Why the VM testbed cannot run here, if it cannot (QEMU, virtme-ng or a kernel missing).
pub fn missing() -> Option<String> {
    let vng = host::vm::install::vng().err().map(|e| e.to_string());
    let qemu = host::vm::install::qemu_version()
        .err()
        .map(|e| e.to_string());
    let kernel = host::vm::install::find_kernel(None)
        .err()
        .map(|e| e.to_string());
    vng.or(qemu).or(kernel)
}

/// False (with the reason printed and the skip recorded) when the VM tests cannot run; as root
/// scripts/test.sh installs the VM testbed and then counts a `qemu` skip as a failure.
pub fn can_run(test: &str) -> bool {
    if !require_root(test) {
        return false;
    }
    match missing() {
        None => true,
        Some(why) => {
            println!("{test}: {why}");
            skip(
                test,
                Missing::Qemu("the VM testbed (scripts/setup.sh --with-vm)"),
            );
            false
        }
    }
}
