fn main() -> std::process::ExitCode {
    kimera_redis_init::main()
}
