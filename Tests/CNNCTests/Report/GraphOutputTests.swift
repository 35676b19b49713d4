import Foundation
import Testing
@testable import CNNC

/// `cnnc graph --format svg` and `-o`: Graphviz's dot as a bounded child process, its failures as one line, and
/// the output file written exclusively, never over what cnnc did not write.
@Suite("cnnc graph: SVG through Graphviz, and the output file")
struct GraphOutputTests {
    let dir: URL

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("cnnc-graph-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    static let systemPath = ProcessInfo.processInfo.environment["PATH"]

    static func residual() throws -> Compilation {
        try Compilation(path: repositoryRoot.appendingPathComponent("Examples/residual.cnn").path)
    }

    /// A folder holding only a `dot` that runs `script` (a shell script body): a stand-in for Graphviz.
    func fakeDot(_ script: String) throws -> String {
        let folder = dir.appendingPathComponent("bin-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let dot = folder.appendingPathComponent("dot")
        try Data("#!/bin/sh\n\(script)\n".utf8).write(to: dot)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dot.path)
        return folder.path
    }

    func expectError(_ expected: String, sourceLocation: Testing.SourceLocation = #_sourceLocation,
                     _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("no error", sourceLocation: sourceLocation)
        } catch let e as CompileError {
            #expect(e.description == expected, sourceLocation: sourceLocation)
            #expect(!e.description.contains("\n"), sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test("residual drawn by Graphviz: a node per layer and the input, an edge per input, a cluster per fused group")
    func svgThroughGraphviz() throws {
        guard Graphviz.findDot(searchPath: Self.systemPath) != nil else {
            print("skipped: Graphviz's dot is not on PATH (apt-get install graphviz)")
            return
        }
        let c = try Self.residual()
        let svg = String(decoding: try GraphPrinter.render(c, format: .svg, searchPath: Self.systemPath), as: UTF8.self)
        #expect(svg.hasPrefix(Graphviz.svgSignature + "<!DOCTYPE svg"))
        #expect(!svg.contains("<?xml"))
        #expect(svg.hasSuffix("</svg>\n"))
        func count(_ s: String) -> Int { svg.components(separatedBy: s).count - 1 }
        #expect(count("class=\"node\"") == c.network.layers.count + 1)
        #expect(count("class=\"edge\"") == c.network.layers.reduce(0) { $0 + $1.inputs.count })
        #expect(count("class=\"cluster\"") == c.plan.groups.filter(\.isFused).count)
        #expect(svg.contains("<title>maxpool1&#45;&gt;block1</title>"))
        #expect(svg.contains(">14x14x16</text>"))
    }

    @Test("no dot on PATH: one line that says how to install it")
    func missingDot() throws {
        let c = try Self.residual()
        let empty = dir.appendingPathComponent("empty-bin")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        for path in [empty.path, "", nil] as [String?] {
            expectError("error: --format svg runs Graphviz's dot, which is not on PATH; install it with: "
                        + "apt-get install graphviz") {
                _ = try GraphPrinter.render(c, format: .svg, searchPath: path)
            }
        }
        // The DOT text needs no Graphviz.
        #expect(try GraphPrinter.render(c, format: .dot, searchPath: empty.path) == Array(GraphPrinter.dot(c).utf8))
    }

    @Test("dot failing: its exit status and standard error on one line")
    func dotFails() throws {
        let c = try Self.residual()
        let bin = try fakeDot("cat > /dev/null; echo 'Error: <stdin>: syntax error in line 3' >&2; echo 'near x' >&2; exit 3")
        expectError("\(bin)/dot: error: exited with status 3; Error: <stdin>: syntax error in line 3; near x") {
            _ = try GraphPrinter.render(c, format: .svg, searchPath: bin)
        }
        // One that exits at once without reading its input (cnnc's write fails with EPIPE, not SIGPIPE).
        let quitter = try fakeDot("exit 2")
        expectError("\(quitter)/dot: error: exited with status 2; no message on standard error") {
            _ = try Graphviz.svg(String(repeating: "x", count: 1 << 20), searchPath: quitter)
        }
        let killed = try fakeDot("kill -9 $$")
        expectError("\(killed)/dot: error: was killed by signal 9; no message on standard error") {
            _ = try GraphPrinter.render(c, format: .svg, searchPath: killed)
        }
    }

    @Test("dot hanging: killed after the timeout, one line")
    func dotHangs() throws {
        let bin = try fakeDot("exec sleep 30")
        let start = Date()
        expectError("\(bin)/dot: error: did not finish within 1 s; render the DOT text yourself: "
                    + "cnnc graph NET.cnn | dot -Tsvg > NET.svg") {
            _ = try Graphviz.svg(GraphPrinter.dot(try Self.residual()), searchPath: bin, timeout: 1)
        }
        #expect(Date().timeIntervalSince(start) < 10)
    }

    @Test("dot's output passes through, its XML declaration replaced by the signature")
    func passesOutputThrough() throws {
        let bin = try fakeDot("cat > /dev/null; printf '<?xml version=\"1.0\"?>\\n<svg>%s</svg>\\n' ok")
        let svg = try Graphviz.svg("digraph {}", searchPath: bin)
        #expect(String(decoding: svg, as: UTF8.self) == Graphviz.svgSignature + "<svg>ok</svg>\n")
        // The input arrives whole (a large graph is more than a pipe holds).
        let echo = try fakeDot("cat")
        let big = String(repeating: "0123456789abcdef", count: 1 << 16)
        #expect(try Graphviz.svg(big, searchPath: echo) == Array((Graphviz.svgSignature + big).utf8))
    }

    @Test("-o: written whole, replaced only where cnnc graph wrote it, nothing left behind")
    func outputFile() throws {
        let c = try Self.residual()
        let dotText = Array(GraphPrinter.dot(c).utf8)
        let path = dir.appendingPathComponent("residual.dot").path
        try GraphPrinter.write(dotText, to: path)
        #expect(FileManager.default.contents(atPath: path) == Data(dotText))
        // A DOT file becomes an SVG one and back: both are cnnc's.
        let svg = Array((Graphviz.svgSignature + "<svg/>\n").utf8)
        try GraphPrinter.write(svg, to: path)
        #expect(FileManager.default.contents(atPath: path) == Data(svg))
        try GraphPrinter.write(dotText, to: path)
        #expect(FileManager.default.contents(atPath: path) == Data(dotText))

        let foreign = dir.appendingPathComponent("mine.dot")
        try Data("digraph mine { a -> b }\n".utf8).write(to: foreign)
        expectError("\(foreign.path): error: exists and is not a graph written by cnnc graph; refusing to replace it") {
            try GraphPrinter.write(dotText, to: foreign.path)
        }
        #expect(FileManager.default.contents(atPath: foreign.path) == Data("digraph mine { a -> b }\n".utf8))

        let link = dir.appendingPathComponent("link.dot")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: path)
        expectError("\(link.path): error: exists and is not a regular file; refusing to replace it") {
            try GraphPrinter.write(dotText, to: link.path)
        }
        let entries = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(entries == ["link.dot", "mine.dot", "residual.dot"])
    }

    /// The command: svg without dot on PATH exits 1 with one line on stderr and writes nothing.
    @Test("cnnc graph --format svg -o FILE without dot: exit 1, one line, no file")
    func commandWithoutDot() throws {
        let cnnc = repositoryRoot.appendingPathComponent(".build/debug/cnnc")
        try #require(FileManager.default.isExecutableFile(atPath: cnnc.path), "build cnnc first")
        let out = dir.appendingPathComponent("r.svg").path
        let p = Process()
        p.executableURL = cnnc
        p.arguments = ["graph", repositoryRoot.appendingPathComponent("Examples/residual.cnn").path,
                       "--format", "svg", "-o", out]
        p.environment = ["PATH": dir.path]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = Pipe()
        try p.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 1)
        #expect(text == "error: --format svg runs Graphviz's dot, which is not on PATH; install it with: "
                + "apt-get install graphviz\n")
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
