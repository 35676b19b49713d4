// The trainer's run: parse the command line, load data and weights, train (or dump gradients), save. Every
// expected failure ends as one `error: ...` line on stderr and exit status 1, or 64 for a command line that cannot
// be run as written (CommandLineConventions.swift). The generated main.swift calls `trainerMain(Network.self)`;
// this file names no generated type.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs the trainer of network `N` with `arguments` (without the program name) as a member of `team` (Team.swift);
/// returns the exit status.
func runTrainer<N: TrainableNetwork>(_: N.Type, _ arguments: [String], team: Team = SoloTeam()) -> Int32 {
    let info = N.info
    do {
        var options = try parseOptions(arguments, defaults: info.defaults)
        let split = try batchSplit(options, info: info, team: team)
        if team.rank != 0 {  // rank 0 alone prints and writes; the others read the same inputs
            Console.muted = true
            (options.savePath, options.metricsPath, options.plotPath, options.checkpointDir) = (nil, nil, nil, nil)
        }
        if let status = answerHelpOrVersion(help: options.help, version: options.version, tool: "train",
                                            usage: { usageText(info) }, info) {
            return status
        }
        if options.listDevices {
            let list = try N.deviceList()
            Console.out(list.hasSuffix("\n") ? list : list + "\n")
            return ExitStatus.success
        }
        try validateParameterTable(info.parameters, parameterCount: info.parameterCount)
        try planFiles(&options)
        // The checkpoint's header is checked before the data is read, its tensors after.
        let checkpoint = try options.loadPath.map { try openCheckpoint($0, option: "--load") }
        let resume = try options.resumePath.map { try Resume(folder: $0, info: info, options: options) }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        if options.threads > cores {
            Console.err("warning: --threads \(options.threads) exceeds the \(cores) processor cores; "
                + "extra threads make training slower, not faster\n")
        }

        // Memory: the network's buffers for the requested batch, before any data is read; then the data.
        let available = availableMemoryBytes()
        let layout = info.sampleLayout
        let networkNeed = saturatingSum([N.memoryBytes(maxBatch: split?.largestChunk(options.batch) ?? options.batch,
                                                       threads: options.threads),
                                         saturatingProduct(split?.largestShare(options.batch) ?? options.batch,
                                                           layout.sampleSize + 2, 4)])  // staging buffer
        try checkMemory(need: networkNeed, available: available,
                        what: "the network \(info.name) with --batch \(options.batch) and --threads \(options.threads)",
                        hint: "lower --batch" + (options.threads > 1 ? " or --threads" : ""))

        let data = try loadDataSets(options, layout: layout, trainOnly: options.dumpGradientsPath != nil,
                                    budget: available == Int.max ? Int.max : available - networkNeed)
        try resume?.checkData(trainSamples: data.train.count, options: options)
        let largest = max(data.train.count, data.test?.count ?? 0)
        if options.batch > data.train.count {
            Console.err("warning: --batch \(options.batch) exceeds the \(data.train.count) training samples; "
                + "each step uses all \(data.train.count)\n")
        }
        let maxBatch = min(options.batch, largest)
        let network = try N(maxBatch: split?.largestChunk(maxBatch) ?? maxBatch, threads: options.threads,
                            device: options.device)
        network.profilingEnabled = options.profile
        network.seedMasks(maskSeed(options.seed))
        var resumed: (point: ResumePoint, state: TrainingState)? = nil
        if let resume {
            try loadCheckpoint(network, from: resume.weights)
            resumed = (resume.point, try resume.trainingState(for: network))
            let point = resume.point
            Console.out(point.epoch < options.epochs
                ? "resuming \(resume.folder.path) after epoch \(point.epoch) of \(options.epochs) (step \(point.steps))\n"
                : "\(resume.folder.path): all \(options.epochs) epochs were trained; evaluating only "
                    + "(a larger --epochs trains on)\n")
        } else if let checkpoint {
            try loadCheckpoint(network, from: checkpoint)
        } else {
            initializeParameters(of: network, seed: options.seed)
        }
        let staging = StagingBuffer(capacity: split?.largestShare(maxBatch) ?? maxBatch, sampleSize: data.train.sampleSize)

        var outcome = TrainingOutcome.finished
        if let dump = options.dumpGradientsPath {
            try dumpGradients(network, data: data.train, batch: options.batch, staging: staging, to: dump)
        } else {
            let trainer = Trainer(network: network, options: options, data: data, staging: staging,
                                  checkpoints: options.checkpointDir.map(CheckpointFolder.init), resume: resumed,
                                  parallel: split.map { Parallelism(team: team, split: $0, batch: maxBatch) })
            Interruption.install()
            do {
                outcome = try trainer.run()
            } catch let error as DivergedError {
                if options.saveOnNaN, let save = options.savePath {
                    try saveCheckpoint(network, to: save)
                    Console.err("saved the diverged weights to \(save) (--save-on-nan)\n")
                }
                throw RuntimeError(error.message)
            }
        }
        if let save = options.savePath {
            try saveCheckpoint(network, to: save)
        }
        if case .interrupted(let signal, let epoch, let steps) = outcome {
            var saved = [options.savePath.map { "weights to \($0)" }, options.metricsPath.map { "metrics to \($0)" },
                         options.plotPath.map { "curves to \($0)" }]
                .compactMap { $0 }.joined(separator: " and ")
            if saved.isEmpty { saved = "nothing (no --save or --metrics)" }
            Console.err("interrupted by \(Interruption.name(signal)) after \(steps) steps (epoch \(max(epoch, 1))): "
                + "saved \(saved)\n")
            return ExitStatus.interrupted(by: signal)
        }
        if options.profile {
            let report = network.profileReport()
            if !report.isEmpty { Console.out(report.hasSuffix("\n") ? report : report + "\n") }
        }
        return ExitStatus.success
    } catch {
        return failureStatus(error, prefix: team.errorPrefix, report: { team.reportFailure($0) })
    }
}

/// How each batch is split into chunks and across the ranks (DataParallel.swift); nil for one process on whole
/// batches (no --chunks, no mpirun), the trainer as it always was.
func batchSplit(_ options: Options, info: NetworkInfo, team: Team) throws -> BatchSplit? {
    guard team.size > 1 || (options.chunks ?? 1) > 1 else { return nil }
    let ranks = team.size, chunks = options.chunks ?? ranks
    if options.help || options.listDevices { return BatchSplit(chunks: chunks, ranks: ranks, rank: team.rank) }
    guard info.target != "vulkan" else {  // the Vulkan network's gradients live on the device
        throw RuntimeError("--chunks and mpirun need the cpu target; this is the \(info.target) trainer", status: 64)
    }
    guard chunks % ranks == 0 else {
        throw RuntimeError("--chunks \(chunks) must be a multiple of the \(ranks) MPI ranks (each computes the same "
            + "number of chunks)", status: 64)
    }
    guard options.batch % chunks == 0 else {
        let what = options.chunks == nil ? "the \(ranks) MPI ranks" : "--chunks \(chunks)"
        throw RuntimeError("--batch \(options.batch) does not divide among \(what); give a multiple of \(chunks)",
                           status: 64)
    }
    if options.dumpGradientsPath != nil {
        throw RuntimeError("--dump-gradients runs in one process without --chunks", status: 64)
    }
    if let norm = info.parameters.first(where: { $0.buffer }) {  // batchnorm's running statistics
        throw RuntimeError("--chunks and mpirun cannot train \(info.name) yet: its batch statistics (\(norm.name)) would "
            + "be each chunk's, not the batch's", status: 64)
    }
    return BatchSplit(chunks: chunks, ranks: ranks, rank: team.rank)
}

/// Checks the outputs against the inputs and each other before anything is read (SafeWrite.swift), and
/// replaces each output path by the path to write (a symlink's target with --follow-symlinks).
func planFiles(_ options: inout Options) throws {
    var outputs = [("--save", options.savePath), ("--metrics", options.metricsPath), ("--plot", options.plotPath),
                   ("--dump-gradients", options.dumpGradientsPath)]
        .compactMap { option, path in path.map { NamedPath(option: option, path: $0) } }
    if let dir = options.checkpointDir {  // its own checks, then no other output may be one of its files
        let folder = CheckpointFolder(path: dir)
        let resumingHere = options.resumePath.map { $0 == dir || (fileIdentity($0) != nil && fileIdentity($0) == fileIdentity(dir)) }
        try folder.plan(resumingHere: resumingHere ?? false)
        if isDirectory(dir) { outputs += folder.files.map { NamedPath(option: "--checkpoint-dir", path: $0) } }
    }
    let planned = try planOutputs(outputs, inputs: inputFiles(options), followSymlinks: options.followSymlinks)
    for (output, path) in zip(outputs, planned) {
        switch output.option {
        case "--save": options.savePath = path
        case "--metrics": options.metricsPath = path
        case "--plot": options.plotPath = path
        case "--checkpoint-dir": break  // regular files or none (CheckpointFolder.plan): written where they are
        default: options.dumpGradientsPath = path
        }
    }
}

/// The trainer process: runs network `N` with the command line's arguments as a member of `team` and exits with
/// its status. Under mpirun a rank that failed ends the whole job (MPI_Abort), so no rank waits forever for it;
/// a run that ended normally, or stopped by a signal all ranks agreed on, leaves the team together.
func trainerMain<N: TrainableNetwork>(_ network: N.Type, team: Team = SoloTeam()) -> Never {
    signal(SIGPIPE, SIG_IGN)  // a closed stdout (`| head`) must not kill training
    let status = runTrainer(network, Array(CommandLine.arguments.dropFirst()), team: team)
    if team.size > 1 && status != 0 && status != 128 + SIGINT && status != 128 + SIGTERM {
        team.abort(status: status)
    }
    team.finish()
    exit(status)
}
