import Foundation
import Testing
@testable import CNNC

/// User strings in generated code: the escaping functions of `Spelling`, the identifier bases of `Symbols`, and
/// a network whose layer names are keywords, reserved words and the generated code's own names.
@Suite("names and escaping")
struct NamesTests {
    static let hostile = [
        "plain", "a\"b", "a\\b", "a\\", "x\" + { print(\"PWNED\") ; return \"\" }() + \"", "line\nbreak", "cr\rlf",
        "*/ int evil; /*", "/* nested", "# define", "tri??/", "caf\u{E9} \u{1F600}", "bidi\u{202E}txt", "nul\u{0}x", "\\(interp)",
        "tab\tend",
    ]

    /// Reads a Swift string literal back the way the Swift lexer does, for the escapes `swiftString` writes.
    static func decodeSwift(_ literal: String) -> String? {
        var s = Substring(literal)
        guard s.first == "\"", s.last == "\"", s.count >= 2 else { return nil }
        s = s.dropFirst().dropLast()
        var out = String.UnicodeScalarView()
        var it = s.unicodeScalars.makeIterator()
        while let u = it.next() {
            if u == "\"" || u == "\n" || u == "\r" { return nil }   // would end the literal or the line
            guard u == "\\" else { out.append(u); continue }
            switch it.next() {
            case "\\": out.append("\\")
            case "\"": out.append("\"")
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "t": out.append("\t")
            case "u":
                guard it.next() == "{" else { return nil }
                var hex = ""
                while let h = it.next(), h != "}" { hex.unicodeScalars.append(h) }
                guard let v = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(v) else { return nil }
                out.append(scalar)
            default: return nil
            }
        }
        return String(out)
    }

    @Test("a Swift string literal holds exactly the string, on one line, printable ASCII only", arguments: hostile)
    func swiftLiterals(_ s: String) {
        let literal = Spelling.swiftString(s)
        #expect(NamesTests.decodeSwift(literal)?.unicodeScalars.elementsEqual(s.unicodeScalars) == true, "\(literal)")
        #expect(literal.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7F })
    }

    @Test("comment text cannot end, continue or nest a comment in C, GLSL or Swift", arguments: hostile)
    func commentText(_ s: String) {
        let text = Spelling.comment(s)
        #expect(text.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7F }, "\(text)")
        for bad in ["\\", "*/", "/*", "??", "\n"] { #expect(!text.contains(bad), "\(text) contains \(bad)") }
        #expect(Spelling.comment("conv1: conv 2 3x3/1 + relu [net.cnn:4]") == "conv1: conv 2 3x3/1 + relu [net.cnn:4]")
    }

    @Test("C string literals hold the UTF-8 bytes exactly (compiled and printed by cc)")
    func cLiterals() throws {
        let dir = GeneratedTrainer.workRoot.appendingPathComponent("c-literals")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let strings = NamesTests.hostile + ["?\u{1}9", "\u{7F}1"]
        var c = "#include <stdio.h>\n#include <string.h>\nstatic const char* const s[] = {\n"
        for s in strings { c += "    " + Spelling.cString(s) + ",\n" }
        c += "};\nint main(void) {\n    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) { fwrite(s[i], 1, strlen(s[i]), stdout); putchar(0x1E); }\n    return 0;\n}\n"
        try c.write(to: dir.appendingPathComponent("lit.c"), atomically: true, encoding: .utf8)
        let built = try GeneratedTrainer.run("/usr/bin/env", ["cc", "-std=c11", "-Wall", "-Werror", "-o", dir.appendingPathComponent("lit").path,
                                                              dir.appendingPathComponent("lit.c").path])
        #expect(built.status == 0, "\(built.output)")
        let p = Process()
        p.executableURL = dir.appendingPathComponent("lit")
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        // The NUL case ends at its NUL in C: strlen stops there.
        let expected = strings.map { Array($0.utf8.prefix { $0 != 0 }) + [0x1E] }.flatMap { $0 }
        #expect([UInt8](data) == expected)
    }

    @Test("identifier bases: [A-Za-z0-9_], no leading digit or underscore, no __, no gl_, bounded")
    func identifierBases() {
        let cases = ["a-b": "a_b", "a__b": "a_b", "_": "layer", "_1": "layer_1", "a_": "a", "gl_x": "layer_gl_x",
                     "GL_x": "layer_GL_x", "conv1": "conv1", "caf\u{E9}": "caf", "x\" + {": "x", "": "layer"]
        for (name, base) in cases { #expect(Spelling.identifier(name) == base, "\(name)") }
        let long = Spelling.identifier(String(repeating: "ab-", count: 100))
        #expect(long.count <= Spelling.maxIdentifierBase && !long.hasSuffix("_"))
        for s in NamesTests.hostile {
            let id = Spelling.identifier(s)
            #expect(id.wholeMatch(of: /[A-Za-z][A-Za-z0-9_]*/) != nil && !id.contains("__"), "\(id)")
        }
    }

    @Test("the library's module name is an identifier clear of keywords, the package's targets and system modules")
    func moduleNames() {
        #expect(Symbols.moduleName("mnist002") == "mnist002")
        #expect(Symbols.moduleName("mnist-002") == "mnist_002")
        #expect(Symbols.moduleName("9lives") == "layer_9lives")
        for taken in ["train", "Predict", "Kernels", "CPNG", "CMPI", "Foundation", "Swift", "class", "import", "Model",
                      "network"] {
            #expect(Symbols.moduleName(taken) == Spelling.identifier(taken) + "_net", "\(taken)")
        }
        let hostile = Symbols.moduleName("x\" + { print(\"PWNED\") ; return \"\" }() + \"")
        #expect(hostile.wholeMatch(of: /[A-Za-z][A-Za-z0-9_]*/) != nil && !hostile.contains("__"), "\(hostile)")
    }

    @Test("the symbol table keeps readable names and resolves every clash deterministically")
    func symbolTable() {
        var t = SymbolTable()
        let names = ["conv1", "conv1_out", "int", "class", "float", "main", "input", "for", "gl_x", "a__b", "a_b", "net",
                     "net_step", "x", "probs", "A", "a", "d_a", "Self", "NET_SIZE", "grad0", "vec3", "conv2", "gl", "vf16"]
        let bases = names.map { t.claim($0, biases: 2) }
        #expect(bases == ["conv1", "conv1_out_2", "int_2", "class_2", "float_2", "main_2", "input_2", "for_2",
                          "layer_gl_x", "a_b", "a_b_2", "layer_net", "layer_net_step", "x_2", "probs_2", "A", "a_2", "d_a_3",
                          "Self_2", "layer_NET_SIZE", "grad0_2", "vec3_2", "conv2", "layer_gl", "layer_vf16"])
        // No two groups share any derived name, case-insensitively, and none is reserved.
        var seen = Set<String>()
        for b in bases {
            for d in Symbols.derived(b, biases: 2) {
                #expect(seen.insert(d.uppercased()).inserted, "\(d) handed out twice")
                #expect(!Reserved.isReserved(d), "\(d)")
            }
        }
    }

    /// The hand-written type matcher accepts exactly what the regular expressions it replaced accept (a regex
    /// literal is parsed again each time it runs, which made 20,000 layers take five minutes to name).
    @Test("GLSL type names and gradient slots match as the regular expressions did")
    func typeNamesAgreeWithRegex() {
        // Parsed once here (a literal inside the loop would be parsed again on every iteration).
        let vectorsAndMatrices = /[biud]?vec[234]|d?mat[234](x[234])?|grad[0-9]+/
        let samplers = /[iu]?(sampler|image|texture)(1d|2d|3d|cube|2drect|buffer|2dms)(array)?(shadow)?/
        let pieces = ["", "b", "i", "u", "d", "vec", "mat", "2", "3", "4", "x2", "x5", "sampler", "image", "texture",
                      "1d", "2d", "2drect", "2dms", "cube", "buffer", "array", "shadow", "grad", "07", "a"]
        var checked = 0
        for a in pieces { for b in pieces { for c in pieces { for d in ["", "array", "shadow", "x3", "9"] {
            let name = a + b + c + d
            let byRegex = name.wholeMatch(of: vectorsAndMatrices) != nil || name.wholeMatch(of: samplers) != nil
            if Reserved.isTypeOrSlot(name) != byRegex { Issue.record("\(name): regex says \(byRegex)") }
            checked += 1
        } } } }
        #expect(checked == 26 * 26 * 26 * 5)
        #expect(Reserved.isTypeOrSlot("usampler2drectarrayshadow") && Reserved.isTypeOrSlot("grad12"))
        #expect(!Reserved.isTypeOrSlot("grad") && !Reserved.isTypeOrSlot("vec5") && !Reserved.isTypeOrSlot("mat2x"))
    }

    /// Layer names that are keywords of C, GLSL and Swift, the generated code's own names, and names that clash
    /// once spelled as identifiers or upper-cased. Shared with the end-to-end build test.
    static let nastyNet = """
        input 6x6
        scale 1/2
        conv 2 3x3 pad=1 relu name=conv1
        conv 2 3x3 pad=1 name=conv1_out
        tanh name=int
        maxpool 1 name=class
        relu name=for
        conv 2 3x3 pad=1 name=float
        maxpool 1 name=main
        sigmoid name=labels
        bias element name=gl_x
        conv 2 1 name=a__b
        conv 2 1 name=a-b
        conv 2 1 name=A
        conv 2 1 name=a
        avgpool 1 name=x
        tanh name=_
        bias channel name=_1
        bias channel name=Self
        flatten name=probs
        dense 4 name=net_step
        dense 3 name=d_a
        softmax name=NET_SIZE
        train epochs=1 batch=4 lr=0.1 momentum=0.5 seed=7

        """

    @Test("a net with hostile layer names gives C that compiles warning-free and GLSL that compiles")
    func hostileLayerNames() throws {
        let c = try Compilation(source: Array(("net net\n" + NamesTests.nastyNet).utf8), file: "nasty.cnn")
        let package = try CPUTarget.generate(c)
        let dir = GeneratedTrainer.workRoot.appendingPathComponent("nasty-names-c")
        try PackageWriter.write(package, to: dir.path, force: true)
        let result = try GeneratedTrainer.run("/usr/bin/env", [
            "cc", "-std=c11", "-c", "-O0", "-Wall", "-Wextra", "-Werror", "-Wno-unknown-pragmas",
            "-I", dir.appendingPathComponent("Sources/Kernels/include").path,
            dir.appendingPathComponent("Sources/Kernels/kernels.c").path, "-o", dir.appendingPathComponent("k.o").path,
        ])
        #expect(result.status == 0, "\(result.output)")
        let header = try #require(package.files["Sources/Kernels/include/kernels.h"])
        #expect(header.contains("float* a_b_out;") && header.contains("float* a_b_2_out;") && !header.contains("a-b"))
        #expect(header.contains("#define NET_SIZE_A_OUT ") && header.contains("#define NET_SIZE_A_2_OUT "))
        let network = try #require(package.files["Sources/Network/Network.swift"])
        #expect(network.contains("ParamSpec(name: \"a-b.weight\""), "checkpoint names stay the user's")
        #expect(network.contains("buffers.a_b_2_out = floats("))

        let (program, spirv) = try VulkanTarget.compile(c)
        #expect(spirv.count == program.shaders.count)
        let files = Set(program.shaders.map { $0.name.lowercased() })
        #expect(files.count == program.shaders.count, "shader files differ only in case")
        for s in program.shaders { #expect(s.name.wholeMatch(of: /[A-Za-z][A-Za-z0-9_]*/) != nil && !s.name.contains("__"), "\(s.name)") }
    }

    @Test("the file name reaches generated files only escaped")
    func hostileFileName() throws {
        let file = "dir/x\" + { print(\"PWNED\") ; return \"\" }() + \"\n#include <evil>\\.cnn"
        let c = try Compilation(source: Array(NamesTests.nastyNet.utf8), file: file)
        for package in [try CPUTarget.generate(c), try VulkanTarget.generate(c)] {
            let generated = ["Network.swift", "Library.swift", "Shaders.swift"].map { "Sources/Network/" + $0 }
            for (path, text) in package.files where !path.hasPrefix("Sources/Network/") || generated.contains(path) {
                #expect(!text.contains("\n#include <evil>"), "\(path): the newline in the name broke out of a comment")
                #expect(!text.contains("dir/"), "\(path) names the user's path")
            }
            let manifest = try #require(package.files["Package.swift"])
            #expect(manifest.contains("name: \"x\\\" + { print(\\\"PWNED\\\") ; return \\\"\\\" }() + \\\"\\n#include <evil>\\\\\","))
        }
    }
}
