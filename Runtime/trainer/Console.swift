// Errors, terminal output and time: the small shared utilities of the trainer.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every expected failure (bad option, bad file, diverging loss) is a RuntimeError; main prints its message as
/// one `error: ...` line on stderr and exits with status 1, or 64 for one of the command line's, which
/// `parseOptions` turns into a UsageError (CommandLineConventions.swift). Public: `Model` (the library's API)
/// throws it, its `message` one line that names the file or value at fault.
public struct RuntimeError: Error, CustomStringConvertible {
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Unbuffered output straight to a file descriptor (so progress, summaries and errors interleave in order).
enum Console {
    static func out(_ text: String) { emit(text, to: 1) }
    static func err(_ text: String) { emit(text, to: 2) }

    static func emit(_ text: String, to fd: Int32) {
        let bytes = Array(text.utf8)
        // A failure (say the reader went away) leaves nothing useful to do.
        _ = bytes.withUnsafeBytes { writeAll(fd, $0) }
    }

    static var stderrIsTerminal: Bool { isatty(2) != 0 }
}

/// Seconds since an arbitrary fixed point, from the monotonic clock.
func monotonicSeconds() -> Double {
    Double(DispatchTime.now().uptimeNanoseconds) / 1e9
}

/// `String(format:)` shorthands used by the progress and summary lines.
func fixed(_ value: Double, _ digits: Int) -> String {
    String(format: "%.\(digits)f", value)
}

/// Writes all of `buffer` to `fd`, retrying after interrupts and short writes. Returns 0 or the errno.
func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> Int32 {
    var done = 0
    while done < buffer.count {
        let n = write(fd, buffer.baseAddress! + done, buffer.count - done)
        if n < 0 {
            if errno == EINTR { continue }
            return errno
        }
        done += n
    }
    return 0
}
