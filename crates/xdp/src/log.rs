//! libbpf's messages, kept off the terminal. libbpf prints the verifier log of every refused
//! program to stderr by default: a sweep of 24 refused runs printed it 24 times. Here every load
//! runs inside [`capture`], which collects what libbpf says into a [`LoadLog`]; the error carries
//! it, and the caller writes it to a file ([`LoadLog::write_to`]) and prints one sentence
//! ([`LoadLog::reason`]). Messages outside a load still go to stderr.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once};

use libbpf_rs::PrintLevel;

/// What libbpf said during one load: its warnings and the verifier log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadLog(pub String);

/// While a load runs: the text libbpf printed so far. `None`: no load is capturing.
static CAPTURED: Mutex<Option<String>> = Mutex::new(None);
/// One load at a time, so that each log holds only its own load's lines.
static LOADING: Mutex<()> = Mutex::new(());
static INSTALL: Once = Once::new();

fn on_print(level: PrintLevel, msg: String) {
    let mut captured = CAPTURED.lock().unwrap_or_else(|p| p.into_inner());
    match captured.as_mut() {
        Some(buf) => buf.push_str(&msg),
        None if level <= PrintLevel::Warn => eprint!("{msg}"),
        None => {}
    }
}

/// Runs `f` (a libbpf load) with libbpf's messages collected instead of printed.
pub(crate) fn capture<T>(f: impl FnOnce() -> T) -> (T, LoadLog) {
    INSTALL.call_once(|| {
        libbpf_rs::set_print(Some((PrintLevel::Info, on_print)));
    });
    let _one = LOADING.lock().unwrap_or_else(|p| p.into_inner());
    *CAPTURED.lock().unwrap_or_else(|p| p.into_inner()) = Some(String::new());
    let out = f();
    let text = CAPTURED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
        .unwrap_or_default();
    (out, LoadLog(text))
}

impl LoadLog {
    /// The verifier's own reason for a refusal, in one line: the line naming a refused helper
    /// or kfunc when there is one, else the last line of the verifier log.
    pub fn reason(&self) -> Option<String> {
        let verifier: Vec<&str> = self.verifier_lines().collect();
        let named = verifier.iter().find(|l| {
            l.contains("cannot use helper")
                || l.contains("unknown func")
                || l.contains("invalid func")
                || l.contains("kernel function")
                || l.contains("calling kernel function")
        });
        named
            .or_else(|| verifier.iter().rev().find(|l| !l.starts_with("processed ")))
            .map(|l| l.trim().to_owned())
    }

    /// The refused helper's name (`bpf_xdp_adjust_meta`), when the verifier named one.
    pub fn refused_helper(&self) -> Option<String> {
        self.verifier_lines().find_map(|l| {
            let rest = &l[l.find("cannot use helper ")? + "cannot use helper ".len()..];
            let name = rest.split(['#', ' ']).next()?;
            (!name.is_empty()).then(|| name.to_owned())
        })
    }

    /// The lines between libbpf's BEGIN/END PROG LOAD LOG markers.
    fn verifier_lines(&self) -> impl Iterator<Item = &str> {
        let mut inside = false;
        self.0.lines().filter(move |l| {
            if l.contains("-- BEGIN PROG LOAD LOG --") {
                inside = true;
                return false;
            }
            if l.contains("-- END PROG LOAD LOG --") {
                inside = false;
                return false;
            }
            inside && !l.trim().is_empty()
        })
    }

    /// Writes the whole log to `dir/verifier.log` (creating `dir`), returning the path.
    pub fn write_to(&self, dir: &Path) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("verifier.log");
        std::fs::write(&path, &self.0)?;
        Ok(path)
    }

    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What libbpf 1.5 printed for the refused probe program on a 6.18.44 build.
    const REFUSED: &str = "libbpf: prog 'xdplat_probe': BPF program load failed: -EINVAL\n\
libbpf: prog 'xdplat_probe': -- BEGIN PROG LOAD LOG --\n\
0: R1=ctx() R10=fp0\n\
; __u64 now = bpf_ktime_get_ns();\n\
0: (85) call bpf_ktime_get_ns#5\n\
program of this type cannot use helper bpf_xdp_adjust_meta#54\n\
processed 81 insns (limit 1000000) max_states_per_insn 0 total_states 5 peak_states 5 mark_read 2\n\
-- END PROG LOAD LOG --\n\
libbpf: prog 'xdplat_probe': failed to load: -EINVAL\n\
libbpf: failed to load object 'probe_bpf'\n";

    #[test]
    fn the_refused_helper_is_named() {
        let log = LoadLog(REFUSED.into());
        assert_eq!(
            log.reason().as_deref(),
            Some("program of this type cannot use helper bpf_xdp_adjust_meta#54")
        );
        assert_eq!(log.refused_helper().as_deref(), Some("bpf_xdp_adjust_meta"));
    }

    #[test]
    fn another_refusal_gives_the_last_verifier_line() {
        let log = LoadLog(
            "libbpf: prog 'p': -- BEGIN PROG LOAD LOG --\n\
             0: (b7) r0 = 2\n\
             invalid access to packet, off=14 size=2\n\
             processed 3 insns\n\
             -- END PROG LOAD LOG --\n"
                .into(),
        );
        assert_eq!(
            log.reason().as_deref(),
            Some("invalid access to packet, off=14 size=2")
        );
        assert_eq!(log.refused_helper(), None);
        assert_eq!(LoadLog::default().reason(), None);
    }
}
