//! PM QoS CPU latency request through /dev/cpu_dma_latency: the portable
//! way to keep CPUs out of deep C-states. The request lives as long as the
//! file stays open, so `apply` returns the open file for the caller to hold;
//! closing it (or the process dying) withdraws the request, and nothing is
//! left to undo after a crash.

use std::fs::OpenOptions;
use std::io::{Read, Write};

use super::{Held, Setting, parse_uint, unsupported};
use crate::Error;
use crate::state::Target;

const DEV: &str = "/dev/cpu_dma_latency";

/// `cpu-dma-latency-us`.
#[derive(Debug, Clone, Copy)]
pub struct CpuDmaLatency;

const KEY: &str = "cpu-dma-latency-us";

impl Setting for CpuDmaLatency {
    fn key(&self) -> &'static str {
        KEY
    }
    fn accepts(&self) -> &'static str {
        "microseconds, 0 to 2000000000 (0: stay in C0); held while the guard lives"
    }
    fn per_device(&self) -> bool {
        false
    }
    fn parse(&self, value: &str) -> Result<String, Error> {
        parse_uint(KEY, value, 2_000_000_000, self.accepts())
    }
    fn check_supported(&self, t: &Target) -> Result<(), Error> {
        if std::path::Path::new(DEV).exists() {
            Ok(())
        } else {
            Err(unsupported(
                KEY,
                t,
                format!("has no {DEV} (kernel without PM QoS?)"),
            ))
        }
    }
    /// The aggregate target in force (the least of all requests).
    fn read(&self, _t: &Target) -> Result<String, Error> {
        let mut buf = [0u8; 4];
        std::fs::File::open(DEV)
            .and_then(|mut f| f.read_exact(&mut buf))
            .map_err(|e| Error::io("read", DEV, e))?;
        Ok(i32::from_ne_bytes(buf).to_string())
    }
    fn snapshot(&self, _t: &Target) -> Result<String, Error> {
        Ok(String::new())
    }
    fn apply(&self, _t: &Target, value: &str) -> Result<Held, Error> {
        let v: i32 = value
            .parse()
            .map_err(|_| super::bad_value(KEY, value, self.accepts()))?;
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(DEV)
            .map_err(|e| Error::io("open", DEV, e))?;
        // Four bytes are taken as a binary s32; text would be read as hex.
        f.write_all(&v.to_ne_bytes())
            .map_err(|e| Error::io("write", DEV, e))?;
        Ok(Some(Box::new(f)))
    }
    fn restore(&self, _t: &Target, _old: &str) -> Result<(), Error> {
        // Dropping the held file withdrew the request.
        Ok(())
    }
    fn lives_with_process(&self) -> bool {
        true
    }
    fn confirms(&self, wanted: &str, read_back: &str) -> bool {
        match (wanted.parse::<i64>(), read_back.parse::<i64>()) {
            (Ok(w), Ok(r)) => r <= w,
            _ => false,
        }
    }
}
