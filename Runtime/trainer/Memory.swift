// How much memory the trainer may take, and what it will take: checked before anything large is allocated, so
// that a network, batch or data set too big for this machine is a one-line error naming what to lower, never an
// allocation failure or the kernel's OOM killer halfway through a run.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `a * b`, or Int.max when that overflows (sizes here are only compared against what is available).
func saturatingProduct(_ factors: Int...) -> Int {
    var total = 1
    for f in factors {
        let (p, overflow) = total.multipliedReportingOverflow(by: Swift.max(f, 0))
        if overflow { return Int.max }
        total = p
    }
    return total
}

/// `a + b + ...`, or Int.max when that overflows.
func saturatingSum(_ terms: [Int]) -> Int {
    var total = 0
    for t in terms {
        let (s, overflow) = total.addingReportingOverflow(Swift.max(t, 0))
        if overflow { return Int.max }
        total = s
    }
    return total
}

/// `1.5 GiB`, `12.0 MiB`, `512 bytes`.
func formatBytes(_ n: Int) -> String {
    if n == Int.max { return "more than 8 EiB" }
    let units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    guard n >= 1024 else { return "\(n) bytes" }
    var value = Double(n) / 1024, unit = 0
    while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
    return fixed(value, 1) + " " + units[unit]
}

/// The first line of a small system file (at most 4 KiB read), nil when it cannot be read.
private func readSmallFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 4096)
    let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
    guard n > 0 else { return nil }
    return String(decoding: buffer[0..<n], as: UTF8.self)
}

/// `MemAvailable` of /proc/meminfo in bytes.
private func memAvailable() -> Int? {
    let fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 16384)
    let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
    guard n > 0 else { return nil }
    for line in String(decoding: buffer[0..<n], as: UTF8.self).split(separator: "\n")
    where line.hasPrefix("MemAvailable:") {
        let fields = line.split(separator: " ")
        if fields.count >= 2, let kib = Int(fields[1]) { return saturatingProduct(kib, 1024) }
    }
    return nil
}

/// The room left under this process's cgroup memory limit (v2, then v1), nil without a limit.
private func cgroupRoom() -> Int? {
    let pairs = [("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                 ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes")]
    for (limitPath, usagePath) in pairs {
        guard let text = readSmallFile(limitPath) else { continue }
        let limitText = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let limit = Int(limitText), limit < 1 << 60 else { return nil }  // "max": no limit
        let usage = readSmallFile(usagePath).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
        return Swift.max(0, limit - usage)
    }
    return nil
}

/// Bytes of memory this process can still take: the system's MemAvailable, or the room under the cgroup limit
/// when that is lower. Int.max when neither is known (other systems), so that nothing is refused on a guess.
func availableMemoryBytes() -> Int {
    let candidates = [memAvailable(), cgroupRoom()].compactMap { $0 }
    return candidates.min() ?? Int.max
}

/// Fails when `need` bytes exceed `available`: `what needs 31.2 GiB of memory but 7.6 GiB are available; hint`.
func checkMemory(need: Int, available: Int, what: String, hint: String) throws {
    guard need > available else { return }
    throw RuntimeError("\(what) needs \(formatBytes(need)) of memory but \(formatBytes(available)) "
        + "\(available == 1 ? "is" : "are") available; \(hint)")
}
