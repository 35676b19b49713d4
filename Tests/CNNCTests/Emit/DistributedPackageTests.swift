import Foundation
import Testing
@testable import CNNC

/// `cnnc compile --distributed mpi` without building: the package is the plain one plus Open MPI's module, the
/// MPI team and the team in Library.swift, and nothing of MPI reaches the plain package; batchnorm is refused.
@Suite("--distributed mpi packages")
struct DistributedPackageTests {
    static func compile(_ example: String) throws -> Compilation {
        try Compilation(path: repositoryRoot.appendingPathComponent("Examples/\(example)").path)
    }

    @Test("the plain package plus CMPI, MPITeam.swift, and the team in Package.swift and Library.swift")
    func onlyTheMPIFilesDiffer() throws {
        let c = try Self.compile("mnist002.cnn")
        let plain = try CPUTarget.generate(c), mpi = try CPUTarget.generate(c, distributed: true)
        #expect(Set(mpi.files.keys).subtracting(plain.files.keys)
                == ["Sources/CMPI/module.modulemap", "Sources/CMPI/shim.h", "Sources/Network/MPITeam.swift"])
        #expect(Set(plain.files.keys).isSubset(of: Set(mpi.files.keys)))
        #expect(plain.files.keys.filter { plain.files[$0] != mpi.files[$0] }.sorted()
                == ["Package.swift", "Sources/Network/Library.swift"])
        #expect(!plain.files.values.contains { $0.contains("CMPI") || $0.contains("MPITeam.join") })
        #expect(mpi.files["Sources/Network/Library.swift"]!.contains("trainerMain(Network.self, team: MPITeam.join())"))
        #expect(mpi.files["Package.swift"]!.contains("pkgConfig: \"ompi-c\""))
        #expect(mpi.files["Package.swift"]!.contains("dependencies: [\"Kernels\", \"CZlib\", \"CPNG\", \"CMPI\"]"))
    }

    @Test("a net with batchnorm is refused, naming the layer's line")
    func batchnormIsRefused() throws {
        let c = try Self.compile("fashion_bn.cnn")
        #expect(throws: CompileError.self) { try CPUTarget.generate(c, distributed: true) }
        do {
            _ = try CPUTarget.generate(c, distributed: true)
        } catch let e as CompileError {
            #expect(e.description.contains("fashion_bn.cnn:"))
            #expect(e.description.contains("error: --distributed mpi does not support 'batchnorm' layers yet"))
        }
        _ = try CPUTarget.generate(c)  // the plain package is still fine
    }
}
