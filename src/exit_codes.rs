//! Process exit codes, shared by every subcommand (README: "Exit codes").

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Done, and (for `detect`) at least one SR-IOV PF found; (`verify`) all match.
    Success = 0,
    /// Nothing found (`detect`), a difference (`verify`), or not every PF as planned (`boot`).
    NotFound = 1,
    /// Bad input, I/O error, refused plan: nothing was changed.
    Error = 2,
    /// Interrupted at the prompt (Ctrl-C, Esc): nothing was written.
    Interrupted = 130,
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(c: ExitCode) -> Self {
        std::process::ExitCode::from(c as u8)
    }
}
