import ArgumentParser
import CNNC
import Foundation

/// The command line: argument parsing only; all work happens in the CNNC library.
struct CNNCCommand: ParsableCommand {
    /// What cnnc does, the manual's DESCRIPTION; --help adds the exit statuses, which the manual has a section for.
    static let overview = "Write a network in a .cnn file; report its shapes and costs, print its kernel plan or its "
        + "graph, check its gradients, or compile it into a standalone Swift package that trains it."

    static let configuration = CommandConfiguration(
        commandName: "cnnc",
        abstract: "An ahead-of-time compiler for convolutional networks.",
        discussion: overview + "\n\nExit status (the same for the trainers cnnc generates):\n"
            + CNNCExitStatus.table
                .map { "  " + "\($0.status)".padding(toLength: 4, withPad: " ", startingAt: 0) + $0.meaning }
                .joined(separator: "\n"),
        version: "cnnc \(CNNCVersion.current)",
        subcommands: [Report.self, Plan.self, Graph.self, Check.self, Compile.self, Export.self, Man.self]
    )
}

/// Runs a library call, printing a diagnostic or error on stderr and exiting `CNNCExitStatus.failure` instead of
/// trapping.
func reporting<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let d as Diagnostic {
        FileHandle.standardError.write(Data((d.description + "\n").utf8))
        throw ExitCode(CNNCExitStatus.failure)
    } catch let e as CompileError {
        FileHandle.standardError.write(Data((e.description + "\n").utf8))
        throw ExitCode(CNNCExitStatus.failure)
    }
}

CNNCCommand.main()
