//! POSIX shell quoting for commands sent over ssh: the remote login shell parses the command
//! string, so every argument is wrapped in single quotes (inside which nothing is special) and
//! each single quote is written as `'\''`. No value from an experiment file can then run a
//! command: `;`, `$()`, backquotes, globs and newlines all arrive as literal bytes.

/// One argument, quoted for `sh`.
pub fn quote(arg: &str) -> String {
    let mut out = String::with_capacity(arg.len() + 2);
    out.push('\'');
    for c in arg.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// A whole argv as one shell command string.
pub fn join(argv: &[String]) -> String {
    argv.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes() {
        assert_eq!(quote("abc"), "'abc'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a'b"), "'a'\\''b'");
        assert_eq!(join(&["a b".into(), "$(x)".into()]), "'a b' '$(x)'");
    }

    #[test]
    fn sh_gives_back_the_argument() {
        for s in [
            "plain",
            "it's",
            "a;b",
            "$(touch /nonexistent)",
            "`id`",
            "x\ny",
            "'\"'\\",
            "*",
        ] {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {}", quote(s)))
                .output()
                .expect("sh");
            assert_eq!(String::from_utf8_lossy(&out.stdout), s);
        }
    }
}
