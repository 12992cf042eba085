//! report.html in a real headless browser (Debian's chromium): the page loads
//! without console errors or failed loads, its DOM holds the inline plots, and
//! a screenshot is taken (kept in the temp directory when the test fails).
//! Skips with a reason when /usr/bin/chromium is absent
//! (`scripts/setup.sh --with-test-deps` installs it).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use analysis::{Options, analyze, write_outputs};

const CHROMIUM: &str = "/usr/bin/chromium";

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn chromium(args: &[&str], profile: &Path) -> std::process::Output {
    Command::new("timeout")
        .arg("120")
        .arg(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--enable-logging=stderr", "--v=0"])
        .args(args)
        .output()
        .expect("run chromium")
}

#[test]
fn report_opens_in_chromium() {
    if !Path::new(CHROMIUM).exists() {
        eprintln!(
            "skipped: {CHROMIUM} not installed (scripts/setup.sh --with-test-deps installs it)"
        );
        return;
    }
    let dir =
        TempDir(std::env::temp_dir().join(format!("analysis-chromium-{}", std::process::id())));
    let ds = common::paper_like(4);
    let opts = Options {
        bootstrap: 100,
        ..Default::default()
    };
    let a = analyze(&ds, &opts).unwrap();
    write_outputs(&a, &ds, &opts, &dir.0.join("report")).unwrap();
    let url = format!("file://{}", dir.0.join("report/report.html").display());
    let profile = dir.0.join("profile");

    let dom = chromium(&["--dump-dom", &url], &profile);
    let html = String::from_utf8_lossy(&dom.stdout);
    let log = String::from_utf8_lossy(&dom.stderr);
    assert!(dom.status.success(), "chromium failed: {log}");
    assert_eq!(
        html.matches("<svg").count(),
        3,
        "kde, ecdf and k plots in the DOM"
    );
    assert!(html.contains("Which parameters matter most"));
    for line in log.lines() {
        let l = line.to_ascii_lowercase();
        assert!(
            !(l.contains("console") && (l.contains("error") || l.contains("uncaught")))
                && !l.contains("net::err_"),
            "browser reported: {line}"
        );
    }

    let shot = dir.0.join("report.png");
    let s = chromium(
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1100,2400",
            "--hide-scrollbars",
            &url,
        ],
        &profile,
    );
    assert!(s.status.success(), "{}", String::from_utf8_lossy(&s.stderr));
    let png = std::fs::read(&shot).expect("screenshot written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // a blank 1100×2400 page compresses to a few kB; tables and three plots do not
    assert!(
        png.len() > 60_000,
        "screenshot only {} bytes: plots missing?",
        png.len()
    );
    if let Ok(keep) = std::env::var("XDPLAT_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
}
