import Foundation

/// The compiler as a pipeline of named stages. Each stage is a pure function of the previous one's result;
/// the library prints nothing and reads no argv (the `cnnc` executable does that).
public struct Compilation: Sendable {
    public var syntax: SyntaxTree
    public var network: Network
    public var plan: KernelPlan

    /// parse -> infer shapes -> fuse -> plan kernels. Throws `Diagnostic` for any error in the source.
    /// `inputGradient`: plan the input's gradient too (`cnnc check`; see `Network.inputGradient`).
    public init(source bytes: [UInt8], file: String, inputGradient: Bool = false) throws {
        syntax = try Parser.parse(bytes: bytes, file: file)        // text -> syntax tree (syntax errors)
        network = try ShapeInference.infer(syntax, inputGradient: inputGradient)  // -> typed graph (shape errors)
        let fused = Fusion.fuse(network)                           // layers -> fused groups (bias, activation epilogues)
        let groups = try Symbols.assign(fused, network: network)   // group names -> identifiers of generated code
        plan = Planner.plan(network, groups: groups)               // groups -> ordered kernels, buffers, lifetimes
    }

    /// Reads and compiles a .cnn file; a missing or unreadable file is a `CompileError`.
    public init(path: String, inputGradient: Bool = false) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CompileError("\(path): error: cannot read file")
        }
        try self.init(source: [UInt8](data), file: path, inputGradient: inputGradient)
    }
}

/// An error that is not about a position in the source (files, targets, tools), printed as one line.
public struct CompileError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
