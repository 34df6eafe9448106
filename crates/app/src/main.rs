//! `roster`: see `roster --help`.

fn main() -> std::process::ExitCode {
    roster::cli::main()
}
