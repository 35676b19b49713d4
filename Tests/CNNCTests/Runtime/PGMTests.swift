import Foundation
import Testing
@testable import TrainerRuntime

/// The predict tool's PGM reader (Runtime/trainer/PGM.swift): P5 and P2, comments, maxval scaling, and every
/// malformed or short file one error naming it.
@Suite("PGM images")
struct PGMTests {
    func decode(_ bytes: [UInt8], width: Int = 2, height: Int = 2) throws -> [UInt8] {
        let rgba = try decodePGM(bytes, path: "x.pgm", width: width, height: height)
        return stride(from: 0, to: rgba.count, by: 4).map { rgba[$0] }
    }

    func message(_ bytes: [UInt8], width: Int = 2, height: Int = 2) -> String {
        do {
            _ = try decodePGM(bytes, path: "x.pgm", width: width, height: height)
            return "no error"
        } catch let e as RuntimeError { return e.message } catch { return "\(error)" }
    }

    @Test("binary and plain images, comments, and maxval scaled to 0...255")
    func reads() throws {
        #expect(try decode(Array("P5\n# made by hand\n2 2\n255\n".utf8) + [0, 10, 200, 255]) == [0, 10, 200, 255])
        #expect(try decode(Array("P2 2 2 15\n0 1\n 15 7\n".utf8)) == [0, 17, 255, 119])
        let rgba = try decodePGM(Array("P5 1 1 255\n".utf8) + [9], path: "x.pgm", width: 1, height: 1)
        #expect(rgba == [9, 9, 9, 255])
    }

    @Test("malformed headers, wrong sizes, short and long files are one line naming the file")
    func rejects() {
        let cases: [([UInt8], String)] = [
            (Array("P6 2 2 255\n".utf8), "x.pgm: not a PGM image (expected P5 or P2 at its start)"),
            (Array("P5 2 2".utf8), "x.pgm: malformed header: the file ends after the height"),
            (Array("P5 2 -2 255\n".utf8), "x.pgm: malformed header: expected the height as a decimal number at byte 5"),
            (Array("P5 99999999 2 255\n".utf8), "x.pgm: malformed header: width has more than 7 digits"),
            (Array("P5 2 2 65535\n".utf8), "x.pgm: maxval 65535: only 1...255 (8-bit PGM) is supported"),
            (Array("P5 2 2 0\n".utf8), "x.pgm: maxval 0: only 1...255 (8-bit PGM) is supported"),
            (Array("P5 3 2 255\n".utf8) + [1, 2, 3, 4, 5, 6], "x.pgm: image is 3x2 but the network expects 2x2; resize it first (cnnc never resizes)"),
            (Array("P5 2 2 255\n".utf8) + [1, 2, 3], "x.pgm: truncated: the header promises 2x2 bytes (4) but the file holds 3"),
            (Array("P5 2 2 255\n".utf8) + [1, 2, 3, 4, 5], "x.pgm: unexpected bytes after the 2x2 image its header promises"),
            (Array("P5 2 2 100\n".utf8) + [1, 2, 3, 101], "x.pgm: value 101 exceeds the maxval 100"),
            (Array("P2 2 2 255 1 2 3".utf8), "x.pgm: truncated: the header promises 2x2 values but the file holds 3"),
            (Array("P2 2 2 255 1 2 3 4 5".utf8), "x.pgm: unexpected bytes after the 2x2 values its header promises"),
            (Array("P2 2 2 255 1 2 3 4x".utf8), "x.pgm: the value is followed by byte 120 at offset 18, not whitespace"),
            (Array("P5 0 2 255\n".utf8), "x.pgm: image is 0x2; width and height must be at least 1"),
            (Array("P52 2 255\n".utf8), "x.pgm: malformed header: expected whitespace before the width"),
        ]
        for (bytes, expected) in cases {
            #expect(message(bytes) == expected, "\(String(decoding: bytes, as: UTF8.self))")
        }
    }
}
