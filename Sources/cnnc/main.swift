import ArgumentParser
import CNNC
import Foundation

/// The command line: argument parsing only; all work happens in the CNNC library.
struct CNNCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cnnc",
        abstract: "An ahead-of-time compiler for convolutional networks.",
        discussion: "Write a network in a .cnn file; report its shapes and costs, print its kernel plan or its graph, "
            + "check its gradients, or compile it into a standalone Swift package that trains it.",
        subcommands: [Report.self, Plan.self, Graph.self, Check.self, Compile.self, Export.self]
    )
}

/// Runs a library call, printing a diagnostic or error on stderr and exiting 1 instead of trapping.
func reporting<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let d as Diagnostic {
        FileHandle.standardError.write(Data((d.description + "\n").utf8))
        throw ExitCode(1)
    } catch let e as CompileError {
        FileHandle.standardError.write(Data((e.description + "\n").utf8))
        throw ExitCode(1)
    }
}

CNNCCommand.main()
