fn main() -> std::process::ExitCode {
    // One malloc arena: a run is short and its threads (key generation, fsyncs) are few,
    // while glibc gives each thread that allocates an arena of its own whose freed pages
    // stay resident: ~1 MiB more peak memory on a 1000-node cluster, for no speed.
    // Set here, in the binary, so that a program using the library keeps its own.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator settings; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
    kimera_redis_init::main()
}
