// Entry point of the generated trainer: parse the command line, load data and weights, train (or dump
// gradients), save. Every expected failure ends as one `error: ...` line on stderr and exit status 1.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs the trainer with `arguments` (without the program name); returns the exit status.
func runTrainer(_ arguments: [String]) -> Int32 {
    do {
        let options = try parseOptions(arguments)
        if options.help {
            Console.out(usageText())
            return 0
        }
        if options.listDevices {
            let list = try Network.deviceList()
            Console.out(list.hasSuffix("\n") ? list : list + "\n")
            return 0
        }
        try validateParameterTable(NetInfo.parameters, parameterCount: NetInfo.parameterCount)
        for (option, path) in [("--save", options.savePath), ("--metrics", options.metricsPath),
                               ("--dump-gradients", options.dumpGradientsPath)] {
            if let path { try checkWritableOutput(path, option: option) }
        }
        if let load = options.loadPath, !FileManager.default.fileExists(atPath: load) {
            throw RuntimeError("--load \(load): no such file")
        }

        let data = try loadDataSets(options, trainOnly: options.dumpGradientsPath != nil)
        let largest = max(data.train.count, data.test?.count ?? 0)
        let maxBatch = min(options.batch, largest)
        let network = try Network(maxBatch: maxBatch, threads: options.threads, device: options.device)
        network.profilingEnabled = options.profile
        if let load = options.loadPath {
            try loadCheckpoint(network, from: load)
        } else {
            initializeParameters(of: network, seed: options.seed)
        }
        let staging = StagingBuffer(capacity: maxBatch, sampleSize: data.train.sampleSize)

        if let dump = options.dumpGradientsPath {
            try dumpGradients(network, data: data.train, batch: options.batch, staging: staging, to: dump)
        } else {
            let trainer = Trainer(network: network, options: options, data: data, staging: staging)
            try trainer.run()
        }
        if let save = options.savePath {
            try saveCheckpoint(network, to: save)
        }
        if options.profile {
            let report = network.profileReport()
            if !report.isEmpty { Console.out(report.hasSuffix("\n") ? report : report + "\n") }
        }
        return 0
    } catch let error as RuntimeError {
        Console.err("error: \(error.message)\n")
    } catch {
        let text = String(describing: error).split(whereSeparator: \.isNewline).joined(separator: " ")
        Console.err("error: \(text)\n")
    }
    return 1
}

signal(SIGPIPE, SIG_IGN)  // a closed stdout (`| head`) must not kill training
exit(runTrainer(Array(CommandLine.arguments.dropFirst())))
