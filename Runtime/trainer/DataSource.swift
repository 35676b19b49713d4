// Reading data files as a stream, inflating them with zlib when they start with the gzip magic number (.gz or
// not). A DataSource hands out exactly the bytes its reader asks for and holds one input chunk besides, so a
// reader that stops where a header says the data ends also stops the decompression there: a gzip bomb or
// /dev/zero costs no more than the data the header promised.
import CZlib
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// read(2), named apart from `DataSource.read(into:count:)`.
private func readFromFile(_ fd: Int32, _ buffer: UnsafeMutablePointer<UInt8>, _ count: Int) -> Int {
    read(fd, buffer, count)
}

/// Zero bytes tolerated after the last gzip member (tar-style padding, which gzip itself accepts).
let maximumGzipPaddingBytes = 1 << 20

/// A data file read front to back, inflated on the fly when gzip-compressed (one or more members).
final class DataSource {
    let path: String
    /// Whether the file is gzip data.
    private(set) var compressed = false
    /// Bytes read from the file and bytes handed to the reader so far (for tests and messages).
    private(set) var fileBytesRead = 0
    private(set) var bytesProduced = 0

    private let fd: Int32
    private let chunkSize = 1 << 16
    private let chunk: UnsafeMutablePointer<UInt8>
    private var chunkStart = 0, chunkEnd = 0
    private var fileEnded = false
    /// zlib keeps a pointer to its stream, so it lives at a fixed address.
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private var streamOpen = false
    private var streamEnded = false

    /// Opens `path` (a file, pipe or device; not a folder) and looks at its first bytes.
    init(path: String) throws {
        self.path = path
        let (fd, info) = try openForReading(path)
        if (info.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw RuntimeError("\(path): is a directory, expected a file")
        }
        self.fd = fd
        chunk = .allocate(capacity: chunkSize)
        stream.initialize(to: z_stream())
        while chunkEnd < 2 && !fileEnded { try refill() }
        if chunkEnd >= 2 && chunk[0] == 0x1F && chunk[1] == 0x8B {
            compressed = true
            guard inflateInit2_(stream, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                throw RuntimeError("\(path): cannot start zlib")
            }
            streamOpen = true
        }
    }

    deinit {
        if streamOpen { inflateEnd(stream) }
        stream.deallocate()
        chunk.deallocate()
        close(fd)
    }

    /// Appends more of the file to the chunk (moving what is left of it to the front first).
    private func refill() throws {
        if chunkStart > 0 {
            let left = chunkEnd - chunkStart
            if left > 0 { memmove(chunk, chunk + chunkStart, left) }
            chunkStart = 0
            chunkEnd = left
        }
        guard chunkEnd < chunkSize else { return }
        while true {
            let n = readFromFile(fd, chunk + chunkEnd, chunkSize - chunkEnd)
            if n < 0 {
                if errno == EINTR { continue }
                throw RuntimeError("\(path): cannot read: \(String(cString: strerror(errno)))")
            }
            if n == 0 { fileEnded = true }
            chunkEnd += n
            fileBytesRead += n
            return
        }
    }

    /// Fills `buffer` with up to `count` bytes of (inflated) data; fewer only at the end of the data.
    func read(into buffer: UnsafeMutablePointer<UInt8>, count: Int) throws -> Int {
        var done = 0
        while done < count {
            let got = compressed ? try inflateSome(buffer + done, count - done) : try copySome(buffer + done, count - done)
            if got == 0 { break }
            done += got
        }
        bytesProduced += done
        return done
    }

    /// The next `count` bytes; fewer (and `complete` false) when the data ends first.
    func readExactly(_ count: Int) throws -> (bytes: [UInt8], complete: Bool) {
        var got = 0
        let bytes = try [UInt8](unsafeUninitializedCapacity: Swift.max(count, 1)) { buffer, initialized in
            got = try read(into: buffer.baseAddress!, count: count)
            initialized = got
        }
        return (bytes, got == count)
    }

    /// Whether the data has ended (reads at most one more byte to find out).
    func atEnd() throws -> Bool {
        var probe: UInt8 = 0
        return try read(into: &probe, count: 1) == 0
    }

    private func copySome(_ out: UnsafeMutablePointer<UInt8>, _ count: Int) throws -> Int {
        if chunkStart == chunkEnd {
            if fileEnded { return 0 }
            try refill()
            if chunkStart == chunkEnd { return 0 }
        }
        let n = Swift.min(count, chunkEnd - chunkStart)
        out.update(from: chunk + chunkStart, count: n)
        chunkStart += n
        return n
    }

    private func inflateSome(_ out: UnsafeMutablePointer<UInt8>, _ count: Int) throws -> Int {
        while true {
            if streamEnded {
                guard try startNextMember() else { return 0 }
            }
            if chunkStart == chunkEnd && !fileEnded { try refill() }
            let offered = Swift.min(count, 1 << 30)
            stream.pointee.next_in = chunk + chunkStart
            stream.pointee.avail_in = uInt(chunkEnd - chunkStart)
            stream.pointee.next_out = out
            stream.pointee.avail_out = uInt(offered)
            let status = inflate(stream, Z_NO_FLUSH)
            chunkStart = chunkEnd - Int(stream.pointee.avail_in)
            let produced = offered - Int(stream.pointee.avail_out)
            switch status {
            case Z_STREAM_END:
                streamEnded = true
                if produced > 0 { return produced }
            case Z_OK:
                if produced > 0 { return produced }
            case Z_BUF_ERROR:
                if produced > 0 { return produced }
                if chunkStart == chunkEnd && fileEnded {
                    throw RuntimeError("\(path): truncated gzip data (ends after \(fileBytesRead) bytes)")
                }
            case Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR:
                let detail = stream.pointee.msg.map { String(cString: $0) } ?? "invalid data"
                throw RuntimeError("\(path): corrupt gzip data (\(detail))")
            case Z_MEM_ERROR:
                throw RuntimeError("\(path): out of memory inflating gzip data")
            default:
                throw RuntimeError("\(path): gzip inflate failed (zlib status \(status))")
            }
            if chunkStart == chunkEnd && fileEnded && status != Z_STREAM_END {
                throw RuntimeError("\(path): truncated gzip data (ends after \(fileBytesRead) bytes)")
            }
        }
    }

    /// After a gzip member: true when another member follows (and is started), false at the end of the data.
    /// Only zero padding (at most `maximumGzipPaddingBytes`) may follow the last member.
    private func startNextMember() throws -> Bool {
        while chunkEnd - chunkStart < 2 && !fileEnded { try refill() }
        if chunkStart == chunkEnd { return false }
        if chunkEnd - chunkStart >= 2 && chunk[chunkStart] == 0x1F && chunk[chunkStart + 1] == 0x8B {
            inflateReset(stream)
            streamEnded = false
            return true
        }
        var padding = 0
        while true {
            while chunkStart < chunkEnd {
                guard chunk[chunkStart] == 0 else {
                    throw RuntimeError("\(path): unexpected data after the end of the gzip stream")
                }
                chunkStart += 1
                padding += 1
            }
            guard padding <= maximumGzipPaddingBytes else {
                throw RuntimeError("\(path): more than \(maximumGzipPaddingBytes) bytes of padding after the gzip stream")
            }
            if fileEnded { return false }
            try refill()
        }
    }
}

/// Opens `path` read-only and returns its descriptor and `fstat`; a missing or unreadable file is one error.
func openForReading(_ path: String) throws -> (fd: Int32, info: stat) {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
        let code = errno
        if code == ENOENT { throw RuntimeError("\(path): no such file") }
        throw RuntimeError("\(path): cannot open: \(String(cString: strerror(code)))")
    }
    var info = stat()
    guard fstat(fd, &info) == 0 else {
        let code = errno
        close(fd)
        throw RuntimeError("\(path): cannot read its status: \(String(cString: strerror(code)))")
    }
    return (fd, info)
}
