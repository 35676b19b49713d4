import Foundation
import Testing
@testable import TrainerRuntime

/// Output files: written exclusively through a fresh temporary file, never through a planted symlink, never over
/// a device, a symlink (without --follow-symlinks), an input, or another output.
@Suite("Trainer runtime safe writes")
struct SafeWriteTests {
    typealias F = RuntimeTestFiles

    @Test("a symlink planted at X.tmp is not followed, and a user's own X.tmp is kept")
    func temporaryNames() throws {
        let dir = try F.folder("tmp-names")
        let victim = dir.appendingPathComponent("victim")
        try Data("precious".utf8).write(to: victim)
        let out = dir.appendingPathComponent("out.safetensors").path
        try FileManager.default.createSymbolicLink(atPath: out + ".tmp", withDestinationPath: victim.path)
        let users = dir.appendingPathComponent("w.safetensors.tmp")
        try Data("mine".utf8).write(to: users)
        try writeFileAtomically(Array("weights".utf8), to: out)
        try writeFileAtomically(Array("more".utf8), to: dir.appendingPathComponent("w.safetensors").path)
        #expect(try String(contentsOf: victim, encoding: .utf8) == "precious")
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "weights")
        #expect(try String(contentsOf: users, encoding: .utf8) == "mine")
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(left == ["out.safetensors", "out.safetensors.tmp", "victim", "w.safetensors", "w.safetensors.tmp"])
    }

    @Test("devices, folders and FIFOs are refused as outputs")
    func nonRegular() throws {
        let dir = try F.folder("non-regular")
        let fifo = dir.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        for (path, kind) in [("/dev/full", "character device"), (dir.path, "directory"), (fifo, "FIFO")] {
            let planned = F.errorMessage { _ = try planOutputs([NamedPath(option: "--save", path: path)], inputs: [], followSymlinks: false) }
            #expect(planned?.contains(kind) == true, "\(path): \(planned ?? "no error")")
            let written = F.errorMessage { try writeFileAtomically([1, 2, 3], to: path) }
            #expect(written?.contains("refusing to replace it") == true, "\(path): \(written ?? "no error")")
        }
        var info = stat()
        #expect(stat("/dev/full", &info) == 0 && (info.st_mode & S_IFMT) == S_IFCHR, "/dev/full is no longer a device")
    }

    @Test("a symlinked output is refused unless --follow-symlinks, which writes its target")
    func symlinks() throws {
        let dir = try F.folder("symlinks")
        let target = dir.appendingPathComponent("real.json")
        try Data("{}".utf8).write(to: target)
        let link = dir.appendingPathComponent("link.json").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target.path)
        let refused = F.errorMessage { _ = try planOutputs([NamedPath(option: "--metrics", path: link)], inputs: [], followSymlinks: false) }
        #expect(refused?.contains("--follow-symlinks") == true, "\(refused ?? "no error")")
        let planned = try planOutputs([NamedPath(option: "--metrics", path: link)], inputs: [], followSymlinks: true)
        #expect(planned == [realpath(target.path)])
        try writeFileAtomically(Array("new".utf8), to: planned[0])
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == target.path)
        #expect(try String(contentsOf: target, encoding: .utf8) == "new")
    }

    func realpath(_ path: String) -> String {
        let p = Foundation.realpath(path, nil)!
        defer { free(p) }
        return String(cString: p)
    }

    @Test("an output that is an input, or another output, is refused")
    func sameFile() throws {
        let dir = try F.folder("same-file")
        let data = dir.appendingPathComponent("data.csv")
        try Data("1,2\n".utf8).write(to: data)
        let alias = dir.appendingPathComponent("alias.csv").path
        #expect(link(data.path, alias) == 0)  // a hard link: another name, the same inode
        let inputs = [NamedPath(option: "--data", path: data.path)]
        for path in [data.path, alias, dir.path + "/./data.csv"] {
            let message = F.errorMessage { _ = try planOutputs([NamedPath(option: "--save", path: path)], inputs: inputs, followSymlinks: false) }
            #expect(message?.contains("same file as --data") == true, "\(path): \(message ?? "no error")")
        }
        let twice = F.errorMessage {
            _ = try planOutputs([NamedPath(option: "--save", path: dir.path + "/new"), NamedPath(option: "--metrics", path: dir.path + "/./new")],
                                inputs: inputs, followSymlinks: false)
        }
        #expect(twice?.contains("name the same file") == true, "\(twice ?? "no error")")
        #expect(try String(contentsOf: data, encoding: .utf8) == "1,2\n")
    }
}
