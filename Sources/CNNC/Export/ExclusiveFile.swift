import Foundation

/// Writes a file all at once: into a temporary file created exclusively (O_EXCL) beside the target, then renamed
/// over it, so that readers see the old file or the new one, never half of one, and an error leaves nothing.
enum ExclusiveFile {
    /// `replacing` says, from its first bytes, whether an existing regular file may be replaced (one that cnnc
    /// wrote); anything else at the target (another file, a folder, a device, a link) is refused.
    static func write(_ bytes: [UInt8], to path: String, replacing: ([UInt8]) -> Bool, what: String) throws {
        func fail(_ message: String) -> CompileError { CompileError("\(path): error: \(message)") }
        try checkReplaceable(path, replacing: replacing, what: what)

        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        var temporary = ""
        var fd: Int32 = -1
        for attempt in 0..<100 {
            temporary = directory + "/.\(url.lastPathComponent).cnnc-tmp-\(getpid())-\(attempt)"
            fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else { throw fail("cannot create a temporary file beside it: \(String(cString: strerror(errno)))") }
        var ok = false
        defer { if !ok { unlink(temporary) } }

        var written = 0
        let writeError: Int32? = bytes.withUnsafeBytes { raw in
            while written < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + written, raw.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                written += n
            }
            return fsync(fd) == 0 ? nil : errno
        }
        let closeFailed = close(fd) != 0
        if let e = writeError { throw fail("cannot write the file: \(String(cString: strerror(e)))") }
        if closeFailed { throw fail("cannot write the file: \(String(cString: strerror(errno)))") }
        guard rename(temporary, path) == 0 else { throw fail("cannot write the file: \(String(cString: strerror(errno)))") }
        ok = true
    }

    /// Throws unless `path` is absent or a regular file that `replacing` accepts (from its first 64 bytes); lets a
    /// caller that writes several files check them all before writing any.
    static func checkReplaceable(_ path: String, replacing: ([UInt8]) -> Bool, what: String) throws {
        func fail(_ message: String) -> CompileError { CompileError("\(path): error: \(message)") }
        var info = stat()
        if lstat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFREG else {
                throw fail("exists and is not a regular file; refusing to replace it")
            }
            let handle = FileHandle(forReadingAtPath: path)
            let head = (try? handle?.read(upToCount: 64)).flatMap { $0.map { [UInt8]($0) } } ?? []
            try? handle?.close()
            guard replacing(head) else { throw fail("exists and is not \(what); refusing to replace it") }
        } else if errno != ENOENT {
            throw fail("cannot examine the output file: \(String(cString: strerror(errno)))")
        }
    }
}
