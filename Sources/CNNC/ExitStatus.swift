/// The exit statuses of cnnc, the same as those of the tools it generates (Runtime/trainer/
/// CommandLineConventions.swift; a test checks that the two agree). swift-argument-parser exits `usage` (its
/// `ExitCode.validationFailure`, BSD's EX_USAGE) for a command line it cannot parse or that `validate()` refuses;
/// the commands exit `failure` after printing an error as one line.
public enum CNNCExitStatus {
    /// The command did what was asked.
    public static let success: Int32 = 0
    /// An error in the input or the run: a missing or wrong .cnn file, a failed gradient check, a file cnnc
    /// refuses to replace.
    public static let failure: Int32 = 1
    /// The command line itself is wrong: an unknown option or subcommand, a missing or bad value.
    public static let usage: Int32 = 64

    /// The table `cnnc --help` and the manual page show.
    public static let table: [(status: Int32, meaning: String)] = [
        (success, "success"),
        (failure, "error in the input or the run (one line on stderr)"),
        (usage, "usage error: unknown option or subcommand, missing or bad value"),
    ]
}
