import Foundation

/// `cnnc graph --format svg`: Graphviz's `dot`, found on PATH and run as a child process with the DOT text on its
/// standard input. The wait is bounded, the drawing read is bounded, and any failure is one line that names the
/// cause (not installed, its exit status and first words of its standard error, a timeout).
public enum Graphviz {
    /// The first line of every SVG file cnnc writes, in place of Graphviz's optional `<?xml ...?>` declaration
    /// (UTF-8, the XML default): `-o` replaces an existing file only when it starts so.
    public static let svgSignature = "<!-- SVG written by cnnc graph -->\n"
    /// How Debian installs `dot`, for the error when it is missing.
    public static let installCommand = "apt-get install graphviz"
    /// The largest drawing read back; a network's SVG is far smaller (about 1 KiB per layer).
    static let maxOutputBytes = 1 << 28
    /// The most of `dot`'s standard error kept for the error message.
    static let maxErrorBytes = 1 << 16

    /// The executable `dot` in the first folder of `searchPath` (a PATH value) that has one, or nil.
    public static func findDot(searchPath: String?) -> String? {
        for folder in (searchPath ?? "").split(separator: ":", omittingEmptySubsequences: true) {
            let path = String(folder) + "/dot"
            var st = stat()
            if stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG, access(path, X_OK) == 0 { return path }
        }
        return nil
    }

    /// The DOT text drawn as SVG by the `dot` on `searchPath`, within `timeout` seconds.
    public static func svg(_ dot: String, searchPath: String?, timeout: Double = 60) throws -> [UInt8] {
        guard let program = findDot(searchPath: searchPath) else {
            throw CompileError("error: --format svg runs Graphviz's dot, which is not on PATH; install it with: "
                               + installCommand)
        }
        let run = try run(program, arguments: ["-Tsvg"], input: Array(dot.utf8), timeout: timeout)
        guard run.status == 0 else {
            throw CompileError("\(program): error: \(run.ending); \(summary(run.errors))")
        }
        var svg = run.output[...]
        // Graphviz opens with `<?xml ...?>`; nothing may precede a declaration, so it gives way to the signature.
        if svg.starts(with: Array("<?xml".utf8)), let end = firstIndex(of: Array("?>".utf8), in: svg) {
            svg = svg[(end + 2)...].drop { $0 == 0x0A || $0 == 0x0D }
        }
        return Array(svgSignature.utf8) + svg
    }

    /// `dot`'s standard error as one line: its lines joined by "; ", at most 300 characters.
    static func summary(_ bytes: [UInt8]) -> String {
        let lines = String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let text = lines.isEmpty ? "no message on standard error" : lines.joined(separator: "; ")
        return text.count > 300 ? String(text.prefix(300)) + "..." : text
    }

    static func firstIndex(of needle: [UInt8], in hay: ArraySlice<UInt8>) -> Int? {
        guard hay.count >= needle.count else { return nil }
        for i in hay.startIndex...(hay.endIndex - needle.count)
        where hay[i..<(i + needle.count)].elementsEqual(needle) {
            return i
        }
        return nil
    }

    struct Finished {
        var status: Int32
        /// "exited with status 1" or "was killed by signal 11".
        var ending: String
        var output: [UInt8]
        var errors: [UInt8]
    }

    /// Runs `program` with `input` on its standard input, reading its standard output and error as they come
    /// (so that neither side blocks on a full pipe), and kills it when `timeout` seconds pass.
    static func run(_ program: String, arguments: [String], input: [UInt8], timeout: Double) throws -> Finished {
        func fail(_ what: String, _ code: Int32 = errno) -> CompileError {
            CompileError("\(program): error: \(what): \(String(cString: strerror(code)))")
        }
        // A child that exits before reading all its input must cost a write error (EPIPE), not cnnc's life.
        signal(SIGPIPE, SIG_IGN)
        // Three pipes, close-on-exec (the child gets copies as 0, 1 and 2; no other process inherits them).
        var pipes: [[Int32]] = []
        func closePipes() { for fd in pipes.joined() { close(fd) } }
        for _ in 0..<3 {
            var ends: [Int32] = [-1, -1]
            guard pipe(&ends) == 0 else {
                let code = errno
                closePipes()
                throw fail("cannot create a pipe", code)
            }
            for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            pipes.append(ends)
        }
        let toChild = pipes[0], fromChild = pipes[1], errChild = pipes[2]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toChild[0], 0)
        posix_spawn_file_actions_adddup2(&actions, fromChild[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errChild[1], 2)

        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        let envp = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, program, &actions, nil, argv, envp)
        close(toChild[0]); close(fromChild[1]); close(errChild[1])
        guard spawned == 0 else {
            close(toChild[1]); close(fromChild[0]); close(errChild[0])
            throw fail("cannot run it", spawned)
        }

        var writeFD = toChild[1], outFD = fromChild[0], errFD = errChild[0]
        defer { for fd in [writeFD, outFD, errFD] where fd >= 0 { close(fd) } }
        _ = fcntl(writeFD, F_SETFL, fcntl(writeFD, F_GETFL) | O_NONBLOCK)
        if input.isEmpty { close(writeFD); writeFD = -1 }
        var written = 0
        var output: [UInt8] = [], errors: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        let deadline = Date().addingTimeInterval(timeout)

        func killChild() {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
        /// Reads what is there; false at end of file.
        func drain(_ fd: Int32, into bytes: inout [UInt8], limit: Int) -> Bool {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { return errno == EINTR || errno == EAGAIN }
            if n == 0 { return false }
            if bytes.count < limit { bytes += buffer[0..<min(n, limit - bytes.count)] }
            return true
        }

        while outFD >= 0 || errFD >= 0 {
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else {
                killChild()
                throw CompileError("\(program): error: did not finish within \(Int(timeout)) s; "
                                   + "render the DOT text yourself: cnnc graph NET.cnn | dot -Tsvg > NET.svg")
            }
            var fds: [pollfd] = []
            if writeFD >= 0 { fds.append(pollfd(fd: writeFD, events: Int16(POLLOUT), revents: 0)) }
            if outFD >= 0 { fds.append(pollfd(fd: outFD, events: Int16(POLLIN), revents: 0)) }
            if errFD >= 0 { fds.append(pollfd(fd: errFD, events: Int16(POLLIN), revents: 0)) }
            let ready = poll(&fds, nfds_t(fds.count), Int32(min(left * 1000 + 1, 1000)))
            if ready < 0 {
                if errno == EINTR { continue }
                let code = errno
                killChild()
                throw fail("cannot wait for it", code)
            }
            for p in fds where p.revents != 0 {
                if p.fd == writeFD {
                    let n = input.withUnsafeBytes { write(writeFD, $0.baseAddress! + written, $0.count - written) }
                    if n > 0 { written += n }
                    // Done, or the child closed its input (EPIPE): its exit status and messages tell why.
                    if written == input.count || (n < 0 && errno != EAGAIN && errno != EINTR) {
                        close(writeFD); writeFD = -1
                    }
                } else if p.fd == outFD {
                    if !drain(outFD, into: &output, limit: maxOutputBytes + 1) { close(outFD); outFD = -1 }
                    if output.count > maxOutputBytes {
                        killChild()
                        throw CompileError("\(program): error: its drawing exceeds \(maxOutputBytes >> 20) MiB")
                    }
                } else if p.fd == errFD {
                    if !drain(errFD, into: &errors, limit: maxErrorBytes) { close(errFD); errFD = -1 }
                }
            }
        }

        // Both of its outputs are closed: it is exiting. Still, wait no longer than the deadline.
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { break }
            if r < 0 && errno != EINTR { throw fail("cannot wait for it") }
            if deadline.timeIntervalSinceNow <= 0 {
                killChild()
                throw CompileError("\(program): error: did not exit within \(Int(timeout)) s")
            }
            usleep(10_000)
        }
        let exited = status & 0x7F == 0
        let code = exited ? (status >> 8) & 0xFF : status & 0x7F
        return Finished(status: exited ? code : -1,
                        ending: exited ? "exited with status \(code)" : "was killed by signal \(code)",
                        output: output, errors: errors)
    }
}
