//! Process exit codes, shared by every subcommand (docs/commands.md, "Exit codes").
//!
//! Four different outcomes share the value 1, as `grep` and `diff` use it
//! for "ran fine, but the answer is no": each has its own name so that a
//! reader of the code (and of docs/commands.md) never confuses them.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Done; `detect`: at least one SR-IOV PF listed; `verify`: all match;
    /// `boot`: every PF as planned.
    Success,
    /// `detect`: no SR-IOV physical function found (like `grep` finding nothing).
    NoSriovFound,
    /// `verify`: the node or the target differs from the plan.
    VerifyDiffers,
    /// `boot`: at least one planned PF did not reach the plan (including one
    /// it refused to touch).
    BootIncomplete,
    /// `fleet-check`: two functions of the fleet would share a MAC.
    FleetClash,
    /// Bad input, I/O error, refused plan: nothing was changed.
    Error,
    /// Interrupted at the prompt (Ctrl-C, Esc): nothing was written.
    Interrupted,
}

impl ExitCode {
    /// The process exit status.
    pub fn code(self) -> u8 {
        match self {
            ExitCode::Success => 0,
            ExitCode::NoSriovFound
            | ExitCode::VerifyDiffers
            | ExitCode::BootIncomplete
            | ExitCode::FleetClash => 1,
            ExitCode::Error => 2,
            ExitCode::Interrupted => 130,
        }
    }

    /// Every exit code, for the docs test.
    pub const ALL: [ExitCode; 7] = [
        ExitCode::Success,
        ExitCode::NoSriovFound,
        ExitCode::VerifyDiffers,
        ExitCode::BootIncomplete,
        ExitCode::FleetClash,
        ExitCode::Error,
        ExitCode::Interrupted,
    ];
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(c: ExitCode) -> Self {
        std::process::ExitCode::from(c.code())
    }
}

#[cfg(test)]
mod tests {
    use super::ExitCode;

    #[test]
    fn the_kinds_of_no_have_their_own_names_and_share_1() {
        let ones = [
            ExitCode::NoSriovFound,
            ExitCode::VerifyDiffers,
            ExitCode::BootIncomplete,
            ExitCode::FleetClash,
        ];
        for (i, a) in ones.iter().enumerate() {
            assert_eq!(a.code(), 1, "{a:?}");
            for b in &ones[i + 1..] {
                assert_ne!(a, b);
                assert_ne!(format!("{a:?}"), format!("{b:?}"));
            }
        }
        assert_eq!(ExitCode::ALL.map(ExitCode::code), [0, 1, 1, 1, 1, 2, 130]);
    }
}
