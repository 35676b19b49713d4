// Reading data files whole, inflating them with zlib when they are gzip-compressed (.gz or not, by the magic).
import CZlib
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Inflated data larger than this is refused (protects against decompression bombs).
let maximumInflatedBytes = 1 << 34

/// The bytes of the file at `path`, inflated when it starts with the gzip magic number.
func readDataFile(_ path: String) throws -> [UInt8] {
    let raw = try readWholeFile(path)
    if raw.count >= 2 && raw[0] == 0x1F && raw[1] == 0x8B {
        return try gunzip(raw, path: path)
    }
    return raw
}

/// The bytes of the file at `path`, as stored. Regular files are read in one go; pipes (`<(zcat ...)`) until EOF.
func readWholeFile(_ path: String) throws -> [UInt8] {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else {
        let code = errno
        if code == ENOENT { throw RuntimeError("\(path): no such file") }
        throw RuntimeError("\(path): cannot open: \(String(cString: strerror(code)))")
    }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else {
        throw RuntimeError("\(path): cannot read: \(String(cString: strerror(errno)))")
    }
    if (info.st_mode & S_IFMT) == S_IFDIR { throw RuntimeError("\(path): is a directory, expected a file") }
    if (info.st_mode & S_IFMT) == S_IFREG {
        // A regular file: one read of its size (plus a loop for short reads), no zero-filling.
        let size = Int(info.st_size)
        var failure: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: Swift.max(size, 1)) { buffer, initialized in
            var got = 0
            while got < size {
                let n = read(fd, buffer.baseAddress! + got, size - got)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    break
                }
                if n == 0 { break }  // the file shrank meanwhile
                got += n
            }
            initialized = got
        }
        if failure != 0 { throw RuntimeError("\(path): cannot read: \(String(cString: strerror(failure)))") }
        return bytes
    }
    // A pipe or device: read chunks until the end.
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw RuntimeError("\(path): cannot read: \(String(cString: strerror(errno)))")
        }
        if n == 0 { return bytes }
        bytes.append(contentsOf: chunk[0..<n])
        if bytes.count > maximumInflatedBytes { throw RuntimeError("\(path): larger than \(maximumInflatedBytes >> 30) GiB") }
    }
}

/// Inflates gzip data (one or more concatenated members). Truncated or corrupt data is an error naming `path`.
func gunzip(_ input: [UInt8], path: String) throws -> [UInt8] {
    var stream = z_stream()
    guard inflateInit2_(&stream, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
        throw RuntimeError("\(path): cannot start zlib")
    }
    defer { inflateEnd(&stream) }

    // The gzip trailer holds the inflated size modulo 2^32: a good first guess for the output buffer.
    let n = input.count
    var guess = n >= 18 ? Int(input[n - 4]) << 24 | Int(input[n - 3]) << 16 | Int(input[n - 2]) << 8 | Int(input[n - 1]) : 0
    guess = Swift.min(Swift.max(guess, n * 2, 1 << 16), maximumInflatedBytes)
    var capacity = guess
    guard var output = malloc(capacity)?.assumingMemoryBound(to: UInt8.self) else {
        throw RuntimeError("\(path): out of memory inflating gzip data")
    }
    defer { free(output) }
    var produced = 0
    var consumed = 0
    let chunk = 1 << 30

    try input.withUnsafeBytes { raw in
        let inputBase = UnsafeMutablePointer(mutating: raw.bindMemory(to: UInt8.self).baseAddress!)
        while true {
            if produced == capacity {
                guard capacity < maximumInflatedBytes else {
                    throw RuntimeError("\(path): inflated data exceeds \(maximumInflatedBytes >> 30) GiB")
                }
                let grown = Swift.min(capacity * 2, maximumInflatedBytes)
                guard let bigger = realloc(output, grown)?.assumingMemoryBound(to: UInt8.self) else {
                    throw RuntimeError("\(path): out of memory inflating gzip data")
                }
                output = bigger
                capacity = grown
            }
            let inputOffered = Swift.min(n - consumed, chunk)
            let outputOffered = Swift.min(capacity - produced, chunk)
            stream.next_in = inputBase + consumed
            stream.avail_in = uInt(inputOffered)
            stream.next_out = output + produced
            stream.avail_out = uInt(outputOffered)
            let status = inflate(&stream, Z_NO_FLUSH)
            consumed += inputOffered - Int(stream.avail_in)
            produced += outputOffered - Int(stream.avail_out)
            switch status {
            case Z_STREAM_END:
                let rest = raw[consumed...]
                if rest.isEmpty { return }
                if rest.count >= 2 && rest[consumed] == 0x1F && rest[consumed + 1] == 0x8B {
                    inflateReset(&stream)  // another gzip member follows
                    continue
                }
                if rest.allSatisfy({ $0 == 0 }) { return }  // zero padding, as gzip tolerates
                throw RuntimeError("\(path): unexpected data after the end of the gzip stream")
            case Z_OK:
                if consumed == n && stream.avail_out > 0 {
                    throw RuntimeError("\(path): truncated gzip data (ends after \(n) bytes)")
                }
            case Z_BUF_ERROR:
                if consumed == n { throw RuntimeError("\(path): truncated gzip data (ends after \(n) bytes)") }
                if produced < capacity {  // input and room left but no progress: zlib is stuck
                    throw RuntimeError("\(path): corrupt gzip data (inflate made no progress)")
                }
            case Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR:
                let detail = stream.msg.map { String(cString: $0) } ?? "invalid data"
                throw RuntimeError("\(path): corrupt gzip data (\(detail))")
            case Z_MEM_ERROR:
                throw RuntimeError("\(path): out of memory inflating gzip data")
            default:
                throw RuntimeError("\(path): gzip inflate failed (zlib status \(status))")
            }
        }
    }
    return [UInt8](UnsafeBufferPointer(start: output, count: produced))
}
