//! The C allocator's settings for the model's many short-lived tensors.
//!
//! Every candle op on the CPU allocates its output afresh and frees its inputs soon after. With
//! glibc's defaults, freed memory at the top of the heap goes back to the system and blocks above
//! a (moving) size threshold come from fresh mappings, so a new tensor keeps landing on pages the
//! kernel must fault in and zero. A training step of the bundled model on 2 cores took 3.2–3.3 s
//! with the defaults and 2.4–2.5 s with freed memory kept, a quarter less (docs/benchmarks.md).
//! [`keep_freed_memory`] keeps it.

/// Tells the C allocator to keep freed memory for reuse instead of returning it to the system:
/// blocks up to 32 MiB (the most glibc allows) come from the heap, the heap is not trimmed below
/// 1 GiB of free space at its top, and it grows 64 MiB at a time. Pages are only counted in the
/// resident set once touched, so the peak memory stays what the work needs. Call it before the
/// model's first tensor; it does nothing where the C library is not glibc.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets the allocator's tuning parameters, under its own lock; the
    // values are in the ranges glibc documents.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}
