//! `xdplat testbed up|down|status`: the local namespace testbed shaped like the paper's Fig. 2.

use crate::cmd::common::require_root;
use crate::exit::classify;

#[derive(Debug, clap::Subcommand)]
pub enum Cmd {
    /// Create (or complete) the testbed: namespaces NAME-a, NAME-b [, NAME-c] joined by veth pairs.
    Up(Up),
    /// Remove every namespace (and so every veth) of the testbed.
    Down(Name),
    /// Show the interfaces, MACs and addresses of the testbed.
    Status(Status),
}

#[derive(Debug, clap::Args)]
pub struct Name {
    #[arg(long, default_value = "lab")]
    pub name: String,
}

#[derive(Debug, clap::Args)]
pub struct Up {
    #[arg(long, default_value = "lab")]
    pub name: String,
    /// RX/TX queues per veth.
    #[arg(long, default_value_t = 1)]
    pub queues: u32,
    /// Add the third host C (a second generator linked to B), as in the paper.
    #[arg(long)]
    pub with_c: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct Status {
    #[arg(long, default_value = "lab")]
    pub name: String,
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: Cmd) -> anyhow::Result<()> {
    require_root("xdplat testbed")?;
    match cmd {
        Cmd::Up(a) => {
            let spec = host::testbed::TestbedSpec {
                name: a.name,
                queues: a.queues,
                with_c: a.with_c,
            };
            let status = host::testbed::up(&spec).map_err(classify)?;
            print_status(&status, a.json)
        }
        Cmd::Down(a) => {
            host::testbed::down(&a.name).map_err(classify)?;
            println!("testbed {} removed", a.name);
            Ok(())
        }
        Cmd::Status(a) => {
            let status = host::testbed::status(&a.name).map_err(classify)?;
            print_status(&status, a.json)
        }
    }
}

fn print_status(status: &host::testbed::Status, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(status)?);
        return Ok(());
    }
    println!("testbed {}", status.name);
    for l in &status.links {
        println!(
            "  {}:{} {} {}  <->  {}:{} {} {}",
            l.a.netns, l.a.iface, l.a.mac, l.a.ipv4, l.b.netns, l.b.iface, l.b.mac, l.b.ipv4
        );
    }
    Ok(())
}
