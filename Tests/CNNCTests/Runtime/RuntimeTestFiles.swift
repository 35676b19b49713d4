import CZlib
import Foundation
@testable import TrainerRuntime

/// Small files for the in-process tests of the trainer's runtime: IDX and gzip bytes, and a scratch folder.
enum RuntimeTestFiles {
    static let root: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cnnc-runtime-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    /// A fresh empty folder under `root`.
    static func folder(_ name: String) throws -> URL {
        let url = root.appendingPathComponent(name)
        try? FileManager.default.removeItem(at: url)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Big-endian 32-bit words, as IDX headers use.
    static func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }

    /// An unsigned-byte IDX header for `dims`, then `values` (all of them unless given).
    static func idx(_ dims: [Int], values: [UInt8]? = nil) -> [UInt8] {
        be(UInt32(0x800 | dims.count)) + dims.flatMap { be(UInt32($0)) }
            + (values ?? (0..<dims.reduce(1, *)).map { UInt8($0 % 3) })
    }

    /// `bytes` as one gzip member.
    static func gzip(_ bytes: [UInt8], level: Int32 = 6) -> [UInt8] {
        var stream = z_stream()
        precondition(deflateInit2_(&stream, level, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
                                   Int32(MemoryLayout<z_stream>.size)) == Z_OK)
        defer { deflateEnd(&stream) }
        var input = bytes
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(bytes.count))) + 64)
        let produced = input.withUnsafeMutableBufferPointer { inBuf in
            output.withUnsafeMutableBufferPointer { outBuf in
                stream.next_in = inBuf.baseAddress
                stream.avail_in = uInt(inBuf.count)
                stream.next_out = outBuf.baseAddress
                stream.avail_out = uInt(outBuf.count)
                precondition(deflate(&stream, Z_FINISH) == Z_STREAM_END)
                return outBuf.count - Int(stream.avail_out)
            }
        }
        return Array(output[0..<produced])
    }

    /// The tiny network's layout: 4x4 inputs, 3 classes.
    static let layout = SampleLayout(height: 4, width: 4, channels: 1, classes: 3, network: "tiny")

    /// Writes `bytes` to `name` in `folder`; returns the path.
    @discardableResult
    static func write(_ bytes: [UInt8], _ name: String, in folder: URL) throws -> String {
        let url = folder.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    /// The message of the RuntimeError `body` throws (nil when it throws none; any other error fails).
    static func errorMessage(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let error as RuntimeError {
            return error.message
        } catch {
            return "unexpected error type: \(error)"
        }
    }
}
