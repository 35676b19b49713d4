// The processes that train one network together. A package alone is one process (`SoloTeam`); a package compiled
// with `cnnc compile --distributed mpi` runs as the ranks of an `mpirun` job (MPITeam.swift, in those packages
// only, so this runtime never imports MPI). The trainer talks to its team through these few calls, always in
// the same order on every rank: per step an exchange and a gather of gradient slices and a gather of the step's
// figures; one agreement per epoch; one gather per evaluation.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

protocol Team: AnyObject {
    /// This process's rank, 0..<size; rank 0 alone prints, writes metrics and checkpoints.
    var rank: Int { get }
    var size: Int { get }
    /// Every rank's `count` floats, rank after rank, into `all` (`count * size` floats), on every rank.
    func allGather(_ mine: UnsafePointer<Float>, count: Int, into all: UnsafeMutablePointer<Float>)
    /// Every rank sends its `count` floats at `mine + q * count` to rank q, and receives rank r's for it at
    /// `all + r * count` (`count * size` floats each way).
    func allToAll(_ mine: UnsafePointer<Float>, count: Int, into all: UnsafeMutablePointer<Float>)
    /// The same for doubles.
    func allGather(_ mine: UnsafePointer<Double>, count: Int, into all: UnsafeMutablePointer<Double>)
    /// Ends the whole job with `status` after this rank printed why (an error line naming the rank).
    func abort(status: Int32) -> Never
    /// Leaves the team after a run that ended normally on every rank.
    func finish()
}

extension Team {
    /// `error: rank 1 of 4: ` under mpirun, nothing for one process: every error line names the rank that failed.
    var errorPrefix: String { size > 1 ? "rank \(rank) of \(size): " : "" }

    /// Prints a failure's error line. Every rank but 0 first waits a second: a failure all ranks share (bad data,
    /// a diverged loss) is then reported once, by rank 0, whose abort ends the others before they print.
    func reportFailure(_ line: String) {
        if rank != 0 { sleep(1) }
        Console.emit(line, to: 2)
    }

    /// The largest of every rank's `value` (a signal number, 0 for none): a decision all ranks take together.
    func agreeOnLargest(_ value: Int32) -> Int32 {
        guard size > 1 else { return value }
        var mine = Double(value)
        var all = [Double](repeating: 0, count: size)
        all.withUnsafeMutableBufferPointer { allGather(&mine, count: 1, into: $0.baseAddress!) }
        return Int32(all.max()!)
    }
}

/// One process alone: the gathers are copies.
final class SoloTeam: Team {
    var rank: Int { 0 }
    var size: Int { 1 }
    func allGather(_ mine: UnsafePointer<Float>, count: Int, into all: UnsafeMutablePointer<Float>) {
        all.update(from: mine, count: count)
    }
    func allGather(_ mine: UnsafePointer<Double>, count: Int, into all: UnsafeMutablePointer<Double>) {
        all.update(from: mine, count: count)
    }
    func allToAll(_ mine: UnsafePointer<Float>, count: Int, into all: UnsafeMutablePointer<Float>) {
        all.update(from: mine, count: count)
    }
    func abort(status: Int32) -> Never { exit(status) }
    func finish() {}
}
