//! The CPU's time-stamp counter, read without the vDSO: the cheapest clock a stamp can take.
//! Cycles only; `probe::clock` converts them to CLOCK_MONOTONIC before anything stores them.

/// The TSC, where the architecture has one (x86_64), else `None`.
#[inline]
pub fn read() -> Option<u64> {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: RDTSC reads a counter into registers and touches no memory; every x86_64 CPU
        // has it (CR4.TSD, which would fault it in user space, is never set by Linux).
        Some(unsafe { core::arch::x86_64::_rdtsc() })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        None
    }
}
