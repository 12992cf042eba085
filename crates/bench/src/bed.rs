//! The benchmarks' testbed (removed on drop) and scratch directory, and the CPUs of its sides.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::{Error, Result};

/// A testbed for the benchmarks, removed on drop; also a scratch directory for run directories.
#[derive(Debug)]
pub struct Bed {
    pub testbed: host::testbed::Guard,
    pub scratch: PathBuf,
}

impl Bed {
    pub fn up() -> Result<Bed> {
        let name = format!("xb{}", std::process::id() % 100_000_000);
        let spec = host::testbed::TestbedSpec {
            name,
            queues: 1,
            with_c: false,
        };
        let scratch = std::env::temp_dir().join(format!("xdplat-bench-{}", std::process::id()));
        std::fs::create_dir_all(&scratch)
            .map_err(|e| Error::io(format!("mkdir {}", scratch.display()), e))?;
        let testbed = host::testbed::Guard::up(&spec).inspect_err(|_| {
            let _ = std::fs::remove_dir_all(&scratch);
        })?;
        Ok(Bed { testbed, scratch })
    }

    pub fn name(&self) -> &str {
        self.testbed.name()
    }

    pub fn link(&self) -> &host::testbed::Link {
        &self.testbed.status.links[0]
    }

    /// A fresh run directory path.
    pub fn run_dir(&self, what: &str) -> PathBuf {
        static N: AtomicU32 = AtomicU32::new(0);
        self.scratch
            .join(format!("{what}-{}", N.fetch_add(1, Ordering::Relaxed)))
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

/// CPUs for (A, B): as asked, else the first two this process may use, else none.
pub fn cpus(asked: Option<(usize, usize)>) -> (Option<usize>, Option<usize>) {
    if let Some((a, b)) = asked {
        return (Some(a), Some(b));
    }
    match probe::knobs::allowed_cpus().unwrap_or_default().as_slice() {
        [a, b, ..] => (Some(*a), Some(*b)),
        _ => (None, None),
    }
}
