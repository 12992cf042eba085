//! Ansible inventories (`hosts-from`), INI or YAML, for users who already describe their servers
//! there (as the paper's authors did): each inventory host becomes an ssh host reached as
//! `ansible_user@ansible_host -p ansible_port`, with group and `all` variables inherited.

use std::collections::BTreeMap;
use std::path::Path;

/// How to reach one inventory host.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InvHost {
    pub host: String,
    pub user: Option<String>,
    pub port: Option<u16>,
}

type Vars = BTreeMap<String, String>;

impl InvHost {
    fn from_vars(name: &str, vars: &Vars) -> Result<InvHost, String> {
        let port = match vars.get("ansible_port") {
            Some(p) => Some(
                p.parse::<u16>()
                    .map_err(|_| format!("{name}: ansible_port={p:?} is not a port"))?,
            ),
            None => None,
        };
        Ok(InvHost {
            host: vars
                .get("ansible_host")
                .cloned()
                .unwrap_or_else(|| name.to_string()),
            user: vars.get("ansible_user").cloned(),
            port,
        })
    }

    /// `user@host` (or `host`), the ssh destination.
    pub fn dest(&self) -> String {
        match &self.user {
            Some(u) => format!("{u}@{}", self.host),
            None => self.host.clone(),
        }
    }
}

/// Reads an inventory: YAML when the file ends in .yml/.yaml or starts like YAML, else INI.
pub fn load(path: &Path) -> Result<BTreeMap<String, InvHost>, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("read {}: {e}", path.display()))?;
    let yaml = path.extension().is_some_and(|e| e == "yml" || e == "yaml")
        || text.trim_start().starts_with("---");
    if yaml {
        parse_yaml(&text)
    } else {
        parse_ini(&text)
    }
}

fn scalar(v: &serde_yaml::Value) -> Option<String> {
    match v {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn vars_of(v: Option<&serde_yaml::Value>) -> Vars {
    v.and_then(|v| v.as_mapping())
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((scalar(k)?, scalar(v)?)))
                .collect()
        })
        .unwrap_or_default()
}

/// Walks a YAML group (`hosts`, `vars`, `children`), inheriting variables downwards.
fn walk(group: &serde_yaml::Value, inherited: &Vars, out: &mut BTreeMap<String, Vars>) {
    let mut vars = inherited.clone();
    vars.extend(vars_of(group.get("vars")));
    if let Some(hosts) = group.get("hosts").and_then(|h| h.as_mapping()) {
        for (name, hv) in hosts {
            let Some(name) = scalar(name) else { continue };
            let entry = out.entry(name).or_default();
            for (k, v) in &vars {
                entry.entry(k.clone()).or_insert_with(|| v.clone());
            }
            entry.extend(vars_of(Some(hv)));
        }
    }
    if let Some(children) = group.get("children").and_then(|c| c.as_mapping()) {
        for (_, child) in children {
            walk(child, &vars, out);
        }
    }
}

/// Parses a YAML inventory (`all: {hosts, vars, children}` or top-level groups).
pub fn parse_yaml(text: &str) -> Result<BTreeMap<String, InvHost>, String> {
    let doc: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
    let mut raw = BTreeMap::new();
    let Some(top) = doc.as_mapping() else {
        return Err("a YAML inventory is a mapping of groups".into());
    };
    for (_, group) in top {
        walk(group, &Vars::new(), &mut raw);
    }
    raw.iter()
        .map(|(n, v)| Ok((n.clone(), InvHost::from_vars(n, v)?)))
        .collect()
}

/// Parses an INI inventory: `[group]` host lines with `key=value` pairs, `[group:vars]`,
/// `[group:children]`.
pub fn parse_ini(text: &str) -> Result<BTreeMap<String, InvHost>, String> {
    let mut host_vars: BTreeMap<String, Vars> = BTreeMap::new();
    let mut members: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut children: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut group_vars: BTreeMap<String, Vars> = BTreeMap::new();
    let mut section = ("ungrouped".to_string(), "");
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
            continue;
        }
        if let Some(h) = l.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            section = match h.split_once(':') {
                Some((g, "vars")) => (g.to_string(), "vars"),
                Some((g, "children")) => (g.to_string(), "children"),
                Some(_) => return Err(format!("line {}: unknown section [{h}]", i + 1)),
                None => (h.to_string(), ""),
            };
            continue;
        }
        let (g, kind) = (&section.0, section.1);
        match kind {
            "vars" => {
                let (k, v) = l
                    .split_once('=')
                    .ok_or_else(|| format!("line {}: expected key=value", i + 1))?;
                group_vars
                    .entry(g.clone())
                    .or_default()
                    .insert(k.trim().into(), unquote(v.trim()));
            }
            "children" => children.entry(g.clone()).or_default().push(l.to_string()),
            _ => {
                let mut parts = l.split_whitespace();
                let name = parts.next().unwrap_or_default().to_string();
                let vars = host_vars.entry(name.clone()).or_default();
                for p in parts {
                    let (k, v) = p
                        .split_once('=')
                        .ok_or_else(|| format!("line {}: expected key=value, got {p:?}", i + 1))?;
                    vars.insert(k.into(), unquote(v));
                }
                members.entry(g.clone()).or_default().push(name);
            }
        }
    }
    // hosts of a group, through its children
    fn hosts_of(
        g: &str,
        members: &BTreeMap<String, Vec<String>>,
        children: &BTreeMap<String, Vec<String>>,
        depth: usize,
    ) -> Vec<String> {
        let mut v = members.get(g).cloned().unwrap_or_default();
        if depth < 16 {
            for c in children.get(g).into_iter().flatten() {
                v.extend(hosts_of(c, members, children, depth + 1));
            }
        }
        v
    }
    let mut out = BTreeMap::new();
    for (name, own) in &host_vars {
        let mut vars = group_vars.get("all").cloned().unwrap_or_default();
        for (g, gv) in &group_vars {
            if g != "all" && hosts_of(g, &members, &children, 0).contains(name) {
                vars.extend(gv.clone());
            }
        }
        vars.extend(own.clone());
        out.insert(name.clone(), InvHost::from_vars(name, &vars)?);
    }
    Ok(out)
}

fn unquote(v: &str) -> String {
    v.trim_matches(|c| c == '"' || c == '\'').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ini() {
        let inv = parse_ini(
            "[gen]\nserver-a ansible_host=10.0.0.1 ansible_port=2222\n\
             [fwd]\nserver-b ansible_host=10.0.0.2 ansible_user=bob\n\
             [lab:children]\ngen\nfwd\n[lab:vars]\nansible_user=root\n",
        )
        .expect("ini");
        assert_eq!(inv["server-a"].dest(), "root@10.0.0.1");
        assert_eq!(inv["server-a"].port, Some(2222));
        assert_eq!(inv["server-b"].dest(), "bob@10.0.0.2");
    }

    #[test]
    fn yaml() {
        let inv = parse_yaml(
            "all:\n  vars:\n    ansible_user: root\n  children:\n    lab:\n      hosts:\n        server-a:\n          ansible_host: 10.0.0.1\n          ansible_port: 2222\n        server-b: {}\n",
        )
        .expect("yaml");
        assert_eq!(inv["server-a"].dest(), "root@10.0.0.1");
        assert_eq!(inv["server-a"].port, Some(2222));
        assert_eq!(inv["server-b"].dest(), "root@server-b");
    }
}
