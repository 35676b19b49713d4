import Foundation

/// The files and processes of `cnnc check`: a temporary folder created exclusively and removed afterwards, the
/// system C compiler, the driver run.
enum CheckBuild {
    /// The system C compiler: `cc` on PATH.
    static func findCompiler() throws -> String {
        try findTool("cc", purpose: "builds the kernels with the system C compiler")
    }

    /// `name` on PATH, or an error that says what `command` needs it for.
    static func findTool(_ name: String, purpose: String, command: String = "cnnc check") throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw CompileError("error: \(command) \(purpose), and there is no '\(name)' on PATH")
    }

    /// A folder of cnnc's own (mkdtemp: a fresh name, mode 0700) under `parent` (the temporary directory: $TMPDIR or
    /// /tmp); `remove` deletes it with everything in it, all cnnc's (`cnnc check`'s and the tuner's builds).
    final class TemporaryFolder {
        let path: String

        init(parent: String = NSTemporaryDirectory(), prefix: String = "cnnc-check") throws {
            let pattern = (parent as NSString).appendingPathComponent(prefix + "-XXXXXX")
            var template = Array(pattern.utf8CString)
            guard let made = mkdtemp(&template) else {
                throw CompileError("error: cannot create a temporary folder: \(String(cString: strerror(errno)))")
            }
            path = String(cString: made)
        }

        /// A subfolder, created exclusively.
        func subfolder(_ name: String) throws -> String {
            let dir = path + "/" + name
            guard mkdir(dir, 0o700) == 0 else {
                throw CompileError("\(dir): error: cannot create folder: \(String(cString: strerror(errno)))")
            }
            return dir
        }

        func remove() {
            // Everything in it is cnnc's: the folder was created fresh and private.
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    static func write(_ text: String, to path: String) throws { try write(bytes: Array(text.utf8), to: path) }

    /// Writes a new file (O_EXCL: nothing is overwritten).
    static func write(bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw CompileError("\(path): error: cannot create: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var written = 0
        try bytes.withUnsafeBytes { raw in
            while written < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + written, raw.count - written)
                guard n > 0 else {
                    throw CompileError("\(path): error: cannot write: \(String(cString: strerror(errno)))")
                }
                written += n
            }
        }
    }

    /// Builds `driver` from kernels.c and driver.c in each of `dirs`, all at once.
    static func compile(_ compiler: String, in dirs: [String], file: String) throws {
        try compile(compiler, in: dirs, flags: ["-std=gnu11", "-O1"], sources: ["kernels.c", "driver.c"],
                    output: "driver", file: file, what: "the double-precision kernels")
    }

    /// Builds `output` from `sources` with `flags` in each of `dirs`, all at once; `what` names the sources in an
    /// error.
    static func compile(_ compiler: String, in dirs: [String], flags: [String], sources: [String], output: String,
                        file: String, what: String) throws {
        let results = Locked([String: (status: Int32, output: String)]())
        DispatchQueue.concurrentPerform(iterations: dirs.count) { i in
            let dir = dirs[i]
            let arguments = flags + ["-o", dir + "/" + output] + sources.map { dir + "/" + $0 } + ["-lm"]
            let result = (try? run(compiler, arguments)) ?? (status: -1, output: "cannot run \(compiler)")
            results.update { $0[dir] = result }
        }
        for dir in dirs {
            let result = results.value[dir]!
            guard result.status == 0 else {
                let lines = result.output.split(separator: "\n")
                let first = (lines.first { $0.contains("error") } ?? lines.first).map(String.init)
                    ?? "exit status \(result.status)"
                throw CompileError("\(file): error: the C compiler rejected \(what): \(first)")
            }
        }
    }

    /// A value shared by the compiler processes' threads.
    final class Locked<T>: @unchecked Sendable {
        private var stored: T
        private let lock = NSLock()
        init(_ value: T) { stored = value }
        var value: T { lock.lock(); defer { lock.unlock() }; return stored }
        func update(_ body: (inout T) -> Void) { lock.lock(); defer { lock.unlock() }; body(&stored) }
    }

    /// Runs the driver in `dir` on `data` (the run's number names its files): every analytic gradient, and the
    /// result row of each probe (analytic gradient, then one central difference per step size).
    static func runDriver(in dir: String, run: Int, data: [UInt8], probes: Int, gradients: Int,
                          file: String) throws -> (gradients: [Double], rows: [[Double]]) {
        let (input, output, all) = ("\(dir)/data\(run).bin", "\(dir)/result\(run).bin", "\(dir)/gradients\(run).bin")
        try write(bytes: data, to: input)
        let result = try self.run(dir + "/driver", [input, output, all])
        guard result.status == 0 else {
            let why = result.output.split(separator: "\n").first.map(String.init) ?? "exit status \(result.status)"
            throw CompileError("\(file): error: the gradient check's kernels failed: \(why)")
        }
        let width = 1 + CheckDriver.steps.count
        let rows = try doubles(output, count: probes * width, file: file)
        return (try doubles(all, count: gradients, file: file),
                (0..<probes).map { Array(rows[($0 * width)..<($0 * width + width)]) })
    }

    /// The `count` doubles of a file the driver wrote.
    private static func doubles(_ path: String, count: Int, file: String) throws -> [Double] {
        guard let data = FileManager.default.contents(atPath: path),
              data.count == count * MemoryLayout<Double>.size else {
            throw CompileError("\(file): error: the gradient check's kernels wrote no complete result")
        }
        return data.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
    }

    /// Runs `tool`; its exit status and its output and errors together. A signal is a non-zero status.
    static func run(_ tool: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        do { try p.run() } catch { throw CompileError("error: cannot run \(tool): \(error.localizedDescription)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let status = p.terminationReason == .uncaughtSignal ? 128 + p.terminationStatus : p.terminationStatus
        var output = String(decoding: data, as: UTF8.self)
        if p.terminationReason == .uncaughtSignal { output = "killed by signal \(p.terminationStatus)\n" + output }
        return (status, output)
    }
}
