// The training loop for one run: data, model, estimator, optimizers, evaluation, logs, checkpoints.
import Autodiff
import Estimators
import Foundation
import VAE
#if canImport(Glibc)
import Glibc
#endif

/// The random streams of a run, each with one job, so e.g. changing the evaluation does not change
/// the training noise. All are saved in checkpoints.
struct RunStreams: Codable {
    var data: RandomStream      // shuffling and dynamic binarisation of training batches
    var noise: RandomStream     // the estimator's sampling noise
    var evaluation: RandomStream

    init(seed: Int) {
        var root = RandomStream(seed: UInt64(seed))
        _ = root.split()  // the first child initialises the model (see Trainer.init)
        data = root.split()
        noise = root.split()
        evaluation = root.split()
    }

    static func modelInitStream(seed: Int) -> RandomStream {
        var root = RandomStream(seed: UInt64(seed))
        return root.split()
    }

    var dictionary: [String: RandomStream] { ["data": data, "noise": noise, "evaluation": evaluation] }
    init?(_ d: [String: RandomStream]) {
        guard let a = d["data"], let b = d["noise"], let c = d["evaluation"] else { return nil }
        (data, noise, evaluation) = (a, b, c)
    }
}

public final class Trainer {
    public let config: RunConfig
    public let directory: String
    public let model: DiscreteVAE<Float>
    /// The estimator; rebuilt with the scheduled temperature when `schedule.temperature` changes it.
    public private(set) var estimator: any GradientEstimator<Float>
    let optimizer: Optimizer<Float>
    let estimatorOptimizer: Optimizer<Float>?
    package let trainSet: Dataset
    let evalSet: Dataset
    var streams: RunStreams
    public private(set) var epoch = 0
    public private(set) var step = 0
    public private(set) var metrics: [EpochMetrics] = []
    let log: (String) -> Void
    /// The live line (stderr on a terminal, or always/never as `output.progress` says).
    public private(set) lazy var progress = RunProgress(mode: config.output.progress, epochs: config.training.epochs,
                                                        sink: progressSink)
    /// Where the live line is written; tests capture it. Set before `run()`.
    public var progressSink: ProgressSink = standardErrorSink

    public var metricsPath: String { (directory as NSString).appendingPathComponent("metrics.csv") }
    public var checkpointPath: String { (directory as NSString).appendingPathComponent("checkpoint.bin") }
    public var configPath: String { (directory as NSString).appendingPathComponent("config.json") }
    public var stepsPath: String { (directory as NSString).appendingPathComponent("steps.csv") }
    /// steps.csv, open while a run with `output.steps_every` > 0 trains.
    var stepLog: StepLog?
    /// The temperature the estimator was built with, when a temperature schedule moves it.
    public private(set) var scheduledTemperature: Double?
    /// τ₀ of a temperature schedule: the estimator's own `temperature` (looked up once, not every step).
    lazy var initialTemperature: Double? = config.schedule.temperature == nil ? nil : RunConfig.initialTemperature(of: config.estimator)

    /// - Parameters:
    ///   - datasets: preloaded (train, evaluation) sets; nil loads what the config names.
    public init(config: RunConfig, directory: String, datasets: (Dataset, Dataset)? = nil,
                log: @escaping (String) -> Void = { print($0) }) throws {
        // Before the data and the model are allocated (a library caller may skip Sweep.plan).
        try MemoryEstimate(config: config).check()
        self.config = config
        self.directory = directory
        self.log = log
        if let datasets {
            (trainSet, evalSet) = datasets
        } else {
            (trainSet, evalSet) = try Trainer.loadData(config.data)
        }
        var initStream = RunStreams.modelInitStream(seed: config.training.seed)
        model = DiscreteVAE(shape: config.modelShape, rng: &initStream)
        do {
            estimator = try EstimatorRegistry.make(config.estimator, sizes: config.modelSizes, family: config.latent.spec.family, scalar: Float.self)
        } catch let error as EstimatorError { throw ConfigError.estimator(error.description) }
        optimizer = Optimizer(kind: config.training.optimizer, parameters: model.parameters,
                              learningRate: Float(config.training.learningRate))
        estimatorOptimizer = estimator.parameters.isEmpty ? nil
            : Optimizer(kind: .adam, parameters: estimator.parameters,
                        learningRate: Float(config.training.learningRate) * estimator.parameterLearningRateScale)
        streams = RunStreams(seed: config.training.seed)
    }

    /// The data set the config names, from `data.directory` or the default search. Nothing is
    /// substituted: the embedded 10k subset is read only when `data.directory` names it, and a data
    /// set that is not found is an error listing where it looked and how to get it.
    static func loadData(_ data: DataConfig) throws -> (Dataset, Dataset) {
        let paths = data.directory.map { [$0] }
        do {
            let train = try DatasetLoader.load(data.dataset, split: .train, searchPaths: paths, limit: data.trainLimit)
            let eval = try DatasetLoader.load(data.dataset, split: data.evaluationSplit, searchPaths: paths, limit: data.testLimit)
            return (train, eval)
        } catch let error as DataError {
            guard case let .datasetNotFound(kind, _) = error, kind == .mnist, data.directory == nil else { throw error }
            throw TrainingError.data("\(error)\nFor a quick run on the committed 10,000-image subset instead, set "
                + "data.directory to \"\(DatasetLoader.embeddedDirectory)\" (as configs/quickstart.json does).")
        }
    }

    // MARK: - Running

    /// Trains to `config.training.epochs`, continuing from the checkpoint when `resume` is set and one
    /// exists. Writes config.json, metrics.csv and checkpoint.bin in `directory`. A folder holding a run
    /// with a different config is an error (`RunFolderError`) unless `overwrite` is set; see `RunFolder`.
    @discardableResult
    public func run(resume: Bool = false, overwrite: Bool = false) throws -> [EpochMetrics] {
        BLASInfo.setThreads(config.training.threads)
        reduceAllocatorChurn()
        let decision = try RunFolder.decide(directory: directory, config: config, resume: resume, overwrite: overwrite)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        switch decision {
        case .start:
            break
        case .overwrite:
            try RunFolder.clear(directory)
            log("overwriting the run with a different configuration in \(directory) (--overwrite)")
        case .resume:
            if FileManager.default.fileExists(atPath: checkpointPath) {
                try restore()
                log("resuming \(directory) after epoch \(epoch)")
            }
        }
        try writeResolvedConfig()
        // steps.csv continues from the checkpoint's step (nothing on a fresh start); an existing file is
        // cut back even when logging is now off, so it never holds steps the run will train again.
        if config.output.stepsEvery > 0 || FileManager.default.fileExists(atPath: stepsPath) {
            let stepLog = try StepLog(path: stepsPath, keepingThrough: step)
            self.stepLog = config.output.stepsEvery > 0 ? stepLog : nil
        }
        defer { stepLog = nil }
        log("data: \(trainSet.count) training examples from \(trainSet.source), \(evalSet.count) evaluation examples from \(evalSet.source)")
        defer { progress.clear() }
        while epoch < config.training.epochs {
            let row = try runEpoch()
            progress.clear()
            log(String(format: "epoch %d/%d  train -ELBO %.3f (recon %.3f, KL %.3f)  eval -ELBO %@  %.0f ex/s",
                       epoch, config.training.epochs, row.trainLoss, row.trainReconstruction, row.trainKL,
                       row.evalLoss.map { String(format: "%.3f", $0) } ?? "-", row.examplesPerSecond))
        }
        return metrics
    }

    /// Trains one epoch, evaluates if due, then appends the metrics row, rewrites metrics.csv and
    /// checkpoints — in that order, so a run killed at any point resumes from a consistent epoch.
    @discardableResult
    func runEpoch() throws -> EpochMetrics {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let epochStart = Date()
        var row = try trainEpoch()
        if epoch % config.evaluation.every == 0 || epoch == config.training.epochs {
            let evaluation = evaluate(progress: progress)
            (row.evalLoss, row.evalReconstruction, row.evalKL, row.evalIWAE) =
                (evaluation.loss, evaluation.reconstruction, evaluation.kl, evaluation.iwae)
        }
        if config.evaluation.gradientVarianceEvery > 0, epoch % config.evaluation.gradientVarianceEvery == 0 {
            progress.phase("measuring gradient variance (16 draws)", done: 0, total: 1)
            row.gradientVariance = gradientVariance(draws: 16)
        }
        row.epochSeconds = Date().timeIntervalSince(epochStart)
        row.elapsedSeconds = (metrics.last?.elapsedSeconds ?? 0) + row.epochSeconds
        metrics.append(row)
        try writeMetricsCSV(metrics, to: metricsPath)
        if config.output.checkpoint {
            progress.phase("writing checkpoint", done: 0, total: 1)
            try saveCheckpoint()
        }
        progress.endEpoch()
        return row
    }

    /// Trains and checkpoints a single epoch, as a run killed right after it would have left things.
    public func trainEpochForTesting() throws -> EpochMetrics { try runEpoch() }

    /// One pass over the (shuffled) training set.
    func trainEpoch() throws -> EpochMetrics {
        let n = trainSet.count, batchSize = config.training.batchSize
        var order = Array(0..<n)
        for i in stride(from: n - 1, to: 0, by: -1) {
            let j = Int(streams.data.next() % UInt64(i + 1))
            order.swapAt(i, j)
        }
        var steps = (n + batchSize - 1) / batchSize
        if let cap = config.training.maxStepsPerEpoch { steps = min(steps, cap) }
        var sumReconstruction = 0.0, sumKL = 0.0, examples = 0
        progress.beginEpoch(epoch + 1, steps: steps)
        let clock = Date()
        for s in 0..<steps {
            let indices = order[(s * batchSize)..<min(n, (s + 1) * batchSize)]
            let x = batch(trainSet, indices, stream: &streams.data)
            try applySchedules()
            let result = try trainStep(x)
            sumReconstruction += result.reconstructionSum
            sumKL += result.klSum
            examples += indices.count
            if let stepLog, step % config.output.stepsEvery == 0 {
                let m = Double(indices.count)
                stepLog.append(StepRow(step: step, epoch: epoch + 1, trainLoss: (result.reconstructionSum + result.klSum) / m,
                                       reconstruction: result.reconstructionSum / m, kl: result.klSum / m,
                                       elapsedSeconds: (metrics.last?.elapsedSeconds ?? 0) + Date().timeIntervalSince(clock)))
            }
            progress.update(step: s + 1, loss: (sumReconstruction + sumKL) / Double(examples),
                            examplesPerSecond: Double(examples) / max(Date().timeIntervalSince(clock), 1e-9))
        }
        progress.endTraining()
        epoch += 1
        let seconds = Date().timeIntervalSince(clock)
        return EpochMetrics(epoch: epoch, step: step, trainLoss: (sumReconstruction + sumKL) / Double(examples),
                            trainReconstruction: sumReconstruction / Double(examples), trainKL: sumKL / Double(examples),
                            learningRate: config.schedule.learningRate == nil ? nil : Double(optimizer.learningRate),
                            temperature: config.schedule.temperature == nil ? nil : scheduledTemperature,
                            examplesPerSecond: Double(examples) / max(seconds, 1e-9), epochSeconds: seconds, elapsedSeconds: 0)
    }

    /// Optimizer steps per epoch and in the whole run (what a cosine schedule without `steps` spans).
    var stepsPerEpoch: Int {
        let steps = (trainSet.count + config.training.batchSize - 1) / config.training.batchSize
        return config.training.maxStepsPerEpoch.map { min(steps, $0) } ?? steps
    }

    /// Sets the learning rate and the estimator's temperature for the coming update (step `step`, 0-based),
    /// from the config's schedules: functions of the step alone, so a resumed run continues them exactly.
    func applySchedules() throws {
        if let schedule = config.schedule.learningRate {
            let rate = schedule.value(base: config.training.learningRate, step: step, totalSteps: config.training.epochs * stepsPerEpoch)
            optimizer.learningRate = Float(rate)
            estimatorOptimizer?.learningRate = Float(rate) * estimator.parameterLearningRateScale
        }
        if let schedule = config.schedule.temperature, let initial = initialTemperature {
            let temperature = schedule.value(initial: initial, step: step)
            guard temperature != scheduledTemperature else { return }
            var options = config.estimator
            options.values["temperature"] = .number(temperature)
            let rebuilt = try EstimatorRegistry.make(options, sizes: config.modelSizes, family: config.latent.spec.family, scalar: Float.self)
            rebuilt.persistentState = estimator.persistentState
            estimator = rebuilt
            scheduledTemperature = temperature
        }
    }

    /// One optimisation step on a batch: estimate, backprop, check, clip, update (and the estimator's
    /// own parameters from its auxiliary loss).
    @discardableResult
    package func trainStep(_ x: Tensor<Float>) throws -> StepResult {
        let parameters = model.parameters
        let result = objective(x, noise: &streams.noise)
        step += 1
        guard result.loss.value.isFinite else {
            throw TrainingError.nonFinite(epoch: epoch + 1, step: step, what: "the loss")
        }
        var grads = gradients(of: result.loss, wrt: parameters).map(\.value)
        if let clip = config.training.gradientClip { clipGradientNorm(&grads, maxNorm: Float(clip)) }
        // The optimizers check the gradients for NaN/inf in their update pass (one read of them, not
        // two); on a non-finite gradient the run stops here and its parameters are never saved.
        var auxiliaryFinite = true
        if let auxiliary = result.auxiliaryLoss, let estimatorOptimizer {
            let auxGrads = gradients(of: auxiliary, wrt: estimator.parameters).map(\.value)
            auxiliaryFinite = Profile.measure(.optimizer) { estimatorOptimizer.step(estimator.parameters, gradients: auxGrads) }
        }
        guard Profile.measure(.optimizer, { optimizer.step(parameters, gradients: grads) }) else {
            throw TrainingError.nonFinite(epoch: epoch + 1, step: step, what: "a parameter gradient")
        }
        guard auxiliaryFinite else {
            throw TrainingError.nonFinite(epoch: epoch + 1, step: step, what: "an estimator-parameter gradient")
        }
        return result
    }

    package struct StepResult {
        var loss: Variable<Float>
        var auxiliaryLoss: Variable<Float>?
        var reconstructionSum: Double
        var klSum: Double
    }

    /// The training objective for a batch: the estimator's surrogate for E_q[−log p(x|z)] plus the KL
    /// term, averaged over the batch.
    func objective(_ x: Tensor<Float>, noise: inout RandomStream) -> StepResult {
        let logits = model.encode(Variable(x))
        let estimate = Profile.measure(.estimator) { estimator.estimate(EstimatorContext(model: model, logits: logits, x: x), rng: &noise) }
        var loss = estimate.surrogate
        var klSum = 0.0
        if !estimate.includesKL {
            switch config.latent.kl {
            case .analytic:
                let kl = model.kl(logits: logits)
                loss = loss + kl.sum()
                klSum = Double(kl.value.sum().scalar)
            case .sample:
                let kl = model.sampleKL(logits: logits, rng: &noise)
                loss = loss + kl.surrogate
                klSum = Double(kl.value.sum().scalar)
            }
        }
        let batch = Float(x.shape[0])
        return StepResult(loss: loss / batch, auxiliaryLoss: estimate.auxiliaryLoss,
                          reconstructionSum: Double(estimate.objectiveValue.sum().scalar), klSum: klSum)
    }

    /// Gathers rows into a batch tensor and binarises it as configured.
    package func batch(_ data: Dataset, _ indices: some Collection<Int>, stream: inout RandomStream) -> Tensor<Float> {
        let binarization = config.data.binarization
        var uniforms: Tensor<Float>?
        if binarization == .dynamic { uniforms = Tensor.uniform([indices.count, data.dimension], using: &stream) }
        return Tensor(shape: [indices.count, data.dimension]) { out in
            data.gatherRows(indices, into: out)
            if let uniforms {
                uniforms.withUnsafeBufferPointer { binarization.apply(out, uniforms: $0) }
            } else {
                binarization.apply(out)
            }
        }
    }

    // MARK: - Evaluation

    public struct Evaluation {
        public var loss: Double, reconstruction: Double, kl: Double
        public var iwae: Double?
    }

    /// −ELBO on the evaluation split with one sample per example, and the IWAE bound if configured.
    public func evaluate(progress: RunProgress? = nil) -> Evaluation {
        withoutGradients {
            let batchSize = 500
            var recon = 0.0, kl = 0.0, iwae = 0.0
            let K = config.evaluation.iwaeSamples
            let what = K > 0 ? "evaluating (ELBO + IWAE \(K))" : "evaluating (ELBO)"
            let batches = (evalSet.count + batchSize - 1) / batchSize
            progress?.phase(what, done: 0, total: batches)
            for start in stride(from: 0, to: evalSet.count, by: batchSize) {
                let indices = start..<min(evalSet.count, start + batchSize)
                let x = batch(evalSet, indices, stream: &streams.evaluation)
                let logits = model.encode(Variable(x))
                let code = model.latent.sample(logits: logits.value, rng: &streams.evaluation)
                recon += Double(model.reconstructionNLL(code: Variable(code), x: x).value.sum().scalar)
                kl += Double(model.kl(logits: logits).value.sum().scalar)
                if K > 0 { iwae += model.iwaeNLL(x: x, logits: logits, samples: K, rng: &streams.evaluation) }
                progress?.phase(what, done: start / batchSize + 1, total: batches)
            }
            let n = Double(evalSet.count)
            return Evaluation(loss: (recon + kl) / n, reconstruction: recon / n, kl: kl / n, iwae: K > 0 ? iwae / n : nil)
        }
    }

    /// Trace of the covariance of the encoder-logit gradient over `draws` estimator draws on a fixed
    /// batch (the first `batch_size` training examples): a cheap running view of estimator variance.
    public func gradientVariance(draws: Int) -> Double {
        var stream = RandomStream(seed: UInt64(config.training.seed) &+ 0x5EED)
        let x = batch(trainSet, 0..<min(trainSet.count, config.training.batchSize), stream: &stream)
        let problem = GradientProblem(model: model, x: x)
        var sum = [Double](repeating: 0, count: problem.logits.count), sumSquares = sum
        for _ in 0..<draws {
            let g = problem.draw(estimator, rng: &stream).gradient
            for i in 0..<g.count {
                let v = Double(g[flat: i])
                sum[i] += v
                sumSquares[i] += v * v
            }
        }
        let n = Double(draws)
        return zip(sum, sumSquares).reduce(0) { $0 + ($1.1 - $1.0 * $1.0 / n) / (n - 1) }
    }

    // MARK: - Persistence

    func writeResolvedConfig() throws {
        var json = config.json
        json.set("provenance.git_commit", to: .string(BuildInfo.gitCommit))
        json.set("provenance.blas", to: .string(BuildInfo.blas))
        json.set("provenance.blas_threads", to: .number(Double(config.training.threads)))
        json.set("provenance.version", to: .string(BuildInfo.version))
        // Which files were actually read (full data found by the search, or the directory the config
        // names, e.g. the embedded subset), so a reader of the results can tell.
        json.set("provenance.train_data", to: .string("\(trainSet.source) (\(trainSet.count) examples)"))
        json.set("provenance.evaluation_data", to: .string("\(evalSet.source) (\(evalSet.count) examples)"))
        try writeAtomically(Data((json.serialized() + "\n").utf8), to: configPath)
    }

    var stateTensors: [Tensor<Float>] {
        model.parameters.map(\.value) + optimizer.state.firstMoments + optimizer.state.secondMoments
            + estimator.parameters.map(\.value)
            + (estimatorOptimizer.map { $0.state.firstMoments + $0.state.secondMoments } ?? [])
    }

    func saveCheckpoint() throws {
        let tensors = stateTensors
        let header = CheckpointHeader(configJSON: config.json.serialized(pretty: false), epoch: epoch, step: step,
                                      streams: streams.dictionary, estimatorState: estimator.persistentState,
                                      optimizerStep: optimizer.state.step,
                                      estimatorOptimizerStep: estimatorOptimizer?.state.step ?? 0,
                                      metrics: metrics, tensorShapes: tensors.map(\.shape))
        try Checkpoint.write(header: header, tensors: tensors, to: checkpointPath)
    }

    /// Loads the checkpoint in `directory`; the run must have the same configuration (except the
    /// epoch count, so a finished run can be extended).
    public func restore() throws {
        let (header, tensors) = try Checkpoint.read(from: checkpointPath)
        guard RunConfig.resumable(header.configJSON, config.json) else {
            throw TrainingError.checkpoint(path: checkpointPath,
                reason: "it was written by a different configuration; use another --out folder, or --overwrite to replace it")
        }
        guard tensors.map(\.shape) == stateTensors.map(\.shape), let restored = RunStreams(header.streams) else {
            throw TrainingError.checkpoint(path: checkpointPath, reason: "its contents do not match this model")
        }
        var cursor = 0
        func take(_ n: Int) -> [Tensor<Float>] { defer { cursor += n }; return Array(tensors[cursor..<(cursor + n)]) }
        let p = model.parameters
        for (parameter, value) in zip(p, take(p.count)) { parameter.value = value }
        try optimizer.restore(OptimizerState(step: header.optimizerStep, firstMoments: take(p.count), secondMoments: take(p.count)))
        let e = estimator.parameters
        for (parameter, value) in zip(e, take(e.count)) { parameter.value = value }
        if let estimatorOptimizer {
            try estimatorOptimizer.restore(OptimizerState(step: header.estimatorOptimizerStep,
                                                          firstMoments: take(e.count), secondMoments: take(e.count)))
        }
        estimator.persistentState = header.estimatorState
        streams = restored
        epoch = header.epoch
        step = header.step
        metrics = header.metrics
    }

    /// Keeps freed memory in the process between steps: with glibc's defaults every large activation
    /// buffer is a fresh mmap, and the page faults cost more than the arithmetic on these machines.
    package func reduceAllocatorChurn() {
        // mallopt is in malloc.h, which the Glibc module does not expose; look it up instead.
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "mallopt") else { return }
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        let trimThreshold: Int32 = -1, mmapThreshold: Int32 = -3  // M_TRIM_THRESHOLD, M_MMAP_THRESHOLD
        _ = mallopt(mmapThreshold, 32 * 1024 * 1024)
        _ = mallopt(trimThreshold, 256 * 1024 * 1024)
    }
}

/// Where progress text goes: stderr, unless a test or a caller redirects it.
public typealias ProgressSink = (String) -> Void
public let standardErrorSink: ProgressSink = { FileHandle.standardError.write(Data($0.utf8)) }

/// Whether a live line is shown for `mode`: always, never, or when stderr is a terminal (so logs
/// redirected to a file stay free of carriage returns).
func progressEnabled(_ mode: ProgressMode) -> Bool {
    switch mode {
    case .always: return true
    case .never: return false
    case .auto: return isatty(STDERR_FILENO) != 0
    }
}

/// "42s", "3m05s", "2h07m": short durations for a live line.
public func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "?" }
    let s = Int(seconds.rounded())
    if s < 60 { return "\(s)s" }
    if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
    return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60)
}

/// The live line of one run: `epoch i/N`, the step or what the run is doing (evaluating, measuring
/// gradient variance), and the ETA of the whole run (the remaining epochs included, with the
/// evaluation time of the epochs already finished in this process). Silent when disabled.
public final class RunProgress {
    public let enabled: Bool
    let epochs: Int
    let sink: ProgressSink
    var lastDraw = Date.distantPast
    var epoch = 0, stepsPerEpoch = 1
    var epochStart = Date()
    var trainingSeconds = 0.0
    /// (total, training) seconds of each epoch finished in this process.
    var finished: [(total: Double, training: Double)] = []
    var phaseStart = Date()

    public init(mode: ProgressMode, epochs: Int, sink: @escaping ProgressSink = standardErrorSink) {
        enabled = progressEnabled(mode)
        self.epochs = epochs
        self.sink = sink
    }

    public func beginEpoch(_ epoch: Int, steps: Int) {
        self.epoch = epoch
        stepsPerEpoch = max(steps, 1)
        epochStart = Date()
        trainingSeconds = 0
    }

    /// Mean seconds of a whole epoch (training, evaluation, checkpoint), from the epochs finished in
    /// this process, else from the training rate of the current one.
    func secondsPerEpoch(trainingRate: Double) -> Double {
        guard !finished.isEmpty else { return trainingRate * Double(stepsPerEpoch) }
        return finished.map(\.total).reduce(0, +) / Double(finished.count)
    }

    /// Evaluation and checkpoint time per epoch so far (0 until an epoch has finished here).
    var extraSecondsPerEpoch: Double {
        guard !finished.isEmpty else { return 0 }
        return finished.map { $0.total - $0.training }.reduce(0, +) / Double(finished.count)
    }

    /// Seconds left in the run at `step` of the current epoch, `elapsed` seconds into its training:
    /// the rest of this epoch's steps, its evaluation/checkpoint (as in the epochs finished so far),
    /// and the epochs after it.
    public func remainingSeconds(step: Int, elapsed: Double) -> Double {
        let rate = elapsed / Double(max(step, 1))
        return rate * Double(stepsPerEpoch - step) + extraSecondsPerEpoch
            + Double(epochs - epoch) * secondsPerEpoch(trainingRate: rate)
    }

    func update(step: Int, loss: Double, examplesPerSecond: Double) {
        guard enabled, Date().timeIntervalSince(lastDraw) > 0.25 || step == stepsPerEpoch else { return }
        let eta = remainingSeconds(step: step, elapsed: Date().timeIntervalSince(epochStart))
        draw(String(format: "epoch %d/%d  step %d/%d  loss %.3f  %.0f ex/s  ETA %@", epoch, epochs, step, stepsPerEpoch,
                    loss, examplesPerSecond, formatDuration(eta)))
    }

    /// Training of the epoch is over; what follows (evaluation, checkpoint) counts as its extra time.
    func endTraining() {
        trainingSeconds = Date().timeIntervalSince(epochStart)
    }

    /// A phase after training (`what`, e.g. "evaluating (ELBO + IWAE 5000)"), `done` of `total` units.
    func phase(_ what: String, done: Int, total: Int) {
        guard enabled else { return }
        if done == 0 { phaseStart = Date() } else if Date().timeIntervalSince(lastDraw) <= 0.25, done < total { return }
        let phaseElapsed = Date().timeIntervalSince(phaseStart)
        let remainingPhase = done > 0 ? phaseElapsed / Double(done) * Double(total - done) : 0
        let rate = trainingSeconds / Double(stepsPerEpoch)
        let eta = remainingPhase + Double(epochs - epoch) * secondsPerEpoch(trainingRate: rate)
        let count = total > 1 ? " \(done)/\(total)" : ""
        draw("epoch \(epoch)/\(epochs)  \(what)…\(count)  ETA \(formatDuration(eta))")
    }

    func endEpoch() {
        recordFinishedEpoch(total: Date().timeIntervalSince(epochStart), training: trainingSeconds)
    }

    /// Records an epoch's time (training, and in total with its evaluation and checkpoint) for the ETA.
    public func recordFinishedEpoch(total: Double, training: Double) {
        finished.append((total, training > 0 ? training : total))
    }

    func draw(_ text: String) {
        lastDraw = Date()
        sink("\r\u{1B}[K" + text)
    }

    /// Clears the line, so the next log line starts clean.
    public func clear() {
        if enabled { sink("\r\u{1B}[K") }
    }
}
