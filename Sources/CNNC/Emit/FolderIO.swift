import Foundation

/// The file operations of the package writer, on POSIX calls directly, so that every failure is one errno
/// spelled by strerror ("Permission denied", "Read-only file system"), never an NSError domain and code.
struct FolderIO {
    /// What is at a path, without following a final symbolic link.
    enum Kind: Equatable { case missing, file, folder, other }

    struct Failure: Error {
        var message: String
        init(_ what: String, errno code: Int32 = errno) { message = "\(what): \(String(cString: strerror(code)))" }
    }

    static func kind(_ path: String) -> Kind {
        var st = stat()
        guard lstat(path, &st) == 0 else { return .missing }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return .file
        case S_IFDIR: return .folder
        default: return .other
        }
    }

    /// Whether `path` is a folder, following symbolic links (the output folder itself may be a link).
    static func isFolder(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR
    }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// The bytes of a regular file (generated files are small; `limit` bounds what is read).
    static func readAll(_ path: String, display: String, limit: Int = 1 << 30) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure("cannot read \(display)") }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure("cannot read \(display)")
            }
            if n == 0 { return out }
            out += chunk[0..<n]
            if out.count > limit { throw Failure("cannot read \(display)", errno: EFBIG) }
        }
    }

    /// Writes `bytes` into a new file beside `path`, created exclusively (O_EXCL: never an existing file, never
    /// through a link) and flushed to disk; returns its path, for `rename` over `path`.
    static func writeTemporary(_ bytes: [UInt8], beside path: String, display: String) throws -> String {
        let folder = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        for attempt in 0..<100 {
            let temp = (folder.isEmpty ? "" : folder + "/") + ".\(name).cnnc-\(getpid())-\(attempt).tmp"
            let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if fd < 0 {
                if errno == EEXIST { continue }
                throw Failure("cannot write \(display)")
            }
            var done = 0
            var failure: Int32 = 0
            while done < bytes.count {
                let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    break
                }
                done += n
            }
            if failure == 0, fsync(fd) != 0 { failure = errno }
            if close(fd) != 0, failure == 0 { failure = errno }
            if failure != 0 {
                unlink(temp)
                throw Failure("cannot write \(display)", errno: failure)
            }
            return temp
        }
        throw Failure("cannot write \(display)", errno: EEXIST)
    }

    static func move(_ from: String, over to: String, display: String) throws {
        guard rename(from, to) == 0 else { throw Failure("cannot write \(display)") }
    }

    static func remove(_ path: String, display: String) throws {
        guard unlink(path) == 0 || errno == ENOENT else { throw Failure("cannot remove \(display)") }
    }

    static func makeFolder(_ path: String, display: String) throws {
        guard mkdir(path, 0o755) == 0 else { throw Failure("cannot create folder \(display)") }
    }

    /// Removes a folder if it is empty; leaves it (silently) otherwise.
    @discardableResult
    static func removeIfEmpty(_ path: String) -> Bool { rmdir(path) == 0 }
}
