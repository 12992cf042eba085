//! The analysis commands' bad-input cases (`analyze`, `compare`): options out of range and
//! inputs that cannot be read as asked (a column twice, a binary file, a sweep pooled as one
//! sample). Part of the suite of `tests/refusals.rs`.

use crate::refusal_cases::{Case, Class, case, with_file};

/// A run's summary.json in configuration `bp = on`, repetition `rep`.
fn summary(on: bool, rep: u32) -> String {
    let mut s = results::Summary {
        repetition: rep,
        ..Default::default()
    };
    s.params.insert("bp".into(), on.into());
    s.params.insert("repetition".into(), rep.into());
    serde_json::to_string(&s).expect("a summary serializes")
}

/// The analysis commands' cases.
pub fn analysis_cases() -> Vec<Case> {
    use Class::*;
    let mut v = Vec::new();
    for (class, args, says) in [
        (
            Path,
            &["analyze", "{DIR}/nothing", "--out", "{DIR}/report"][..],
            &["nothing"][..],
        ),
        (
            Conflict,
            &["analyze", "--out", "{DIR}/report"],
            &["DIR", "--table"],
        ),
        (
            Range,
            &[
                "analyze",
                "--table",
                "{DIR}/t.csv",
                "--k",
                "0",
                "--out",
                "{DIR}/report",
            ],
            &["--k"],
        ),
        (
            Range,
            &[
                "analyze",
                "--table",
                "{DIR}/t.csv",
                "--max-loss",
                "2",
                "--out",
                "{DIR}/report",
            ],
            &["--max-loss"],
        ),
        (
            Message,
            &[
                "analyze",
                "--table",
                "{DIR}/t.csv",
                "--top",
                "-1",
                "--out",
                "{DIR}/report",
            ],
            &["--top"],
        ),
        (
            Path,
            &["compare", "{DIR}/nothing", "{DIR}/nothing2"],
            &["nothing"],
        ),
        (
            Range,
            &[
                "analyze",
                "--table",
                "{DIR}/t.csv",
                "--max-k",
                "0",
                "--out",
                "{DIR}/report",
            ],
            &["--max-k"],
        ),
        (
            Range,
            &[
                "compare",
                "--table",
                "{DIR}/t.csv",
                "a",
                "b",
                "--bootstrap",
                "0",
            ],
            &["--bootstrap"],
        ),
        (
            Resource,
            &[
                "compare",
                "--table",
                "{DIR}/t.csv",
                "a",
                "b",
                "--bootstrap",
                "100000000000",
            ],
            &["--bootstrap"],
        ),
    ] {
        v.push(with_file(
            case(class, args, 2, says),
            "t.csv",
            "config,rep,rtt_ns\na,0,1000\na,1,1100\nb,0,2000\nb,1,2100\n",
        ));
    }
    v.push(with_file(
        case(
            Class::Duplicate,
            &["analyze", "--table", "{DIR}/t.csv", "--out", "{DIR}/report"],
            2,
            &["column rtt_ns", "appears twice"],
        ),
        "t.csv",
        "config,rep,rtt_ns,rtt_ns\na,0,1000,5\nb,0,2000,6\n",
    ));
    v.push(with_file(
        case(
            Class::Syntax,
            &["analyze", "--table", "{DIR}/t.csv", "--out", "{DIR}/report"],
            2,
            &["NUL byte", ".parquet"],
        ),
        "t.csv",
        "config,rep,rtt_ns\n\0\0\0\0",
    ));
    // a run against a whole sweep: two configurations would be pooled into one sample
    let mut c = case(
        Class::Conflict,
        &["compare", "{DIR}/sweep/runs/r0", "{DIR}/sweep"],
        2,
        &["2 configurations", "--table"],
    );
    for (name, on, rep) in [("r0", true, 0), ("r1", false, 0), ("r2", true, 1)] {
        c = with_file(
            c,
            &format!("sweep/runs/{name}/summary.json"),
            &summary(on, rep),
        );
    }
    v.push(c);
    v
}
