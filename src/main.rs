//! The binary: everything is in the library (`ocimirror::cli::main`).

fn main() {
    std::process::exit(ocimirror::cli::main());
}
