//! The flags shared by `ping` and `fwd`: where the role runs ([`PlaceArgs`]) and the knobs
//! ([`KnobArgs`]), whose flags are built from the one table `probe::knobs::KNOBS`: name, help,
//! values (possible values listed), range and the role's default.

use std::ffi::OsStr;
use std::marker::PhantomData;

use clap::builder::{PossibleValue, TypedValueParser};
use clap::error::ErrorKind;
use clap::{Arg, ArgAction, ArgMatches, Command};
use probe::knobs::{KNOBS, Knob, Role, Value};

/// Where a role runs and what traffic it handles.
#[derive(Debug, Clone, clap::Args)]
pub struct PlaceArgs {
    /// Network namespace to run in (lab-a or lab-b from `xdplat testbed up`).
    #[arg(long)]
    pub netns: Option<String>,
    #[arg(long)]
    pub iface: String,
    #[arg(long, default_value_t = 0)]
    pub queue: u32,
    /// UDP port of the probe traffic.
    #[arg(long, default_value_t = probe::DEFAULT_PROBE_PORT)]
    pub port: u16,
}

/// A role, at the type level, so that each role's flags carry its own defaults.
pub trait RoleArg: std::fmt::Debug + Clone + Send + Sync + 'static {
    const ROLE: Role;
}

#[derive(Debug, Clone)]
pub struct Ping;
#[derive(Debug, Clone)]
pub struct Fwd;

impl RoleArg for Ping {
    const ROLE: Role = Role::Ping;
}

impl RoleArg for Fwd {
    const ROLE: Role = Role::Fwd;
}

/// The knobs of role `R`, as typed values (every flag of the table for that role).
#[derive(Debug, Clone)]
pub struct KnobArgs<R> {
    pub knobs: probe::Knobs,
    role: PhantomData<R>,
}

/// Reads one knob's value with the table's own parser, so that help, checks and messages are
/// the knob's.
#[derive(Clone)]
struct KnobParser(&'static Knob);

impl TypedValueParser for KnobParser {
    type Value = Value;

    fn parse_ref(
        &self,
        cmd: &Command,
        arg: Option<&Arg>,
        value: &OsStr,
    ) -> Result<Value, clap::Error> {
        let text = value.to_string_lossy();
        self.0.parse_text(&text).map_err(|why| {
            let arg = arg.map_or_else(|| self.0.flag(), ToString::to_string);
            let msg = format!("invalid value '{text}' for '{arg}': {why}\n");
            clap::Error::raw(ErrorKind::InvalidValue, msg).with_cmd(cmd)
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        let names = self.0.possible_values()?;
        Some(Box::new(names.into_iter().map(PossibleValue::new)))
    }
}

fn arg(k: &'static Knob, role: Role) -> Arg {
    let mut a = Arg::new(k.name)
        .long(k.name)
        .help(k.help())
        .value_name(k.param.to_uppercase())
        .action(ArgAction::Set)
        .value_parser(KnobParser(k));
    if let Some(d) = k.default(role) {
        a = a.default_value(d.arg());
    }
    a
}

impl<R: RoleArg> clap::Args for KnobArgs<R> {
    fn augment_args(cmd: Command) -> Command {
        KNOBS
            .iter()
            .filter(|k| k.takes(R::ROLE))
            .fold(cmd, |cmd, k| cmd.arg(arg(k, R::ROLE)))
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl<R: RoleArg> clap::FromArgMatches for KnobArgs<R> {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut out = KnobArgs {
            knobs: probe::Knobs::defaults(R::ROLE),
            role: PhantomData,
        };
        out.update_from_arg_matches(m)?;
        Ok(out)
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        for k in KNOBS.iter().filter(|k| k.takes(R::ROLE)) {
            let v = m.get_one::<Value>(k.name).copied();
            if v.is_some() || k.default(R::ROLE).is_none() {
                k.set(&mut self.knobs, v)
                    .map_err(|why| clap::Error::raw(ErrorKind::InvalidValue, why))?;
            }
        }
        Ok(())
    }
}
