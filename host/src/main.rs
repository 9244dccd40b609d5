//! `factory`: parse, run, print the error chain, map to an exit code.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
