// Per-epoch metrics and their CSV form. Column names are stable (documented in the README); timing
// columns come last so two runs of the same config can be compared byte for byte on the rest.
import Foundation

public struct EpochMetrics: Codable, Equatable, Sendable {
    public var epoch: Int
    public var step: Int
    /// Mean training −ELBO over the epoch's examples (the running mean the ReinMax tables report).
    public var trainLoss: Double
    public var trainReconstruction: Double
    public var trainKL: Double
    /// −ELBO on the evaluation split, one stochastic pass (nil on epochs without evaluation).
    public var evalLoss: Double?
    public var evalReconstruction: Double?
    public var evalKL: Double?
    /// IWAE bound on the evaluation NLL with K samples (nil when off).
    public var evalIWAE: Double?
    /// Trace of the covariance of the encoder-logit gradient estimate on a fixed batch (nil when off).
    public var gradientVariance: Double?
    /// The learning rate and the estimator's temperature at the epoch's last update; nil (and no column)
    /// unless the run has that schedule (`schedule.learning_rate`, `schedule.temperature`).
    public var learningRate: Double? = nil
    public var temperature: Double? = nil
    public var examplesPerSecond: Double
    public var epochSeconds: Double
    public var elapsedSeconds: Double

    public init(epoch: Int, step: Int, trainLoss: Double, trainReconstruction: Double, trainKL: Double,
                evalLoss: Double? = nil, evalReconstruction: Double? = nil, evalKL: Double? = nil, evalIWAE: Double? = nil,
                gradientVariance: Double? = nil, learningRate: Double? = nil, temperature: Double? = nil,
                examplesPerSecond: Double, epochSeconds: Double, elapsedSeconds: Double) {
        (self.epoch, self.step, self.trainLoss, self.trainReconstruction, self.trainKL) = (epoch, step, trainLoss, trainReconstruction, trainKL)
        (self.evalLoss, self.evalReconstruction, self.evalKL, self.evalIWAE) = (evalLoss, evalReconstruction, evalKL, evalIWAE)
        (self.gradientVariance, self.learningRate, self.temperature) = (gradientVariance, learningRate, temperature)
        (self.examplesPerSecond, self.epochSeconds, self.elapsedSeconds) = (examplesPerSecond, epochSeconds, elapsedSeconds)
    }

    public static let columns = [
        "epoch", "step", "train_loss", "train_recon", "train_kl", "eval_loss", "eval_recon", "eval_kl",
        "eval_iwae_nll", "grad_var", "examples_per_sec", "epoch_seconds", "elapsed_seconds",
    ]
    /// Columns that depend on the machine's speed, excluded from reproducibility comparisons.
    public static let timingColumns: Set<String> = ["examples_per_sec", "epoch_seconds", "elapsed_seconds"]

    /// The columns for rows with (or without) scheduled values: `learning_rate` and `temperature` come
    /// before the timing columns, and only in runs with that schedule.
    public static func columns(learningRate: Bool, temperature: Bool) -> [String] {
        let timing = columns.suffix(3)
        return columns.dropLast(3) + (learningRate ? ["learning_rate"] : []) + (temperature ? ["temperature"] : []) + timing
    }

    public var csvRow: String { CSVTable.line(cells(learningRate: learningRate != nil, temperature: temperature != nil)) }

    func cells(learningRate withLearningRate: Bool, temperature withTemperature: Bool) -> [CSVValue] {
        func f(_ x: Double?, _ places: Int = 6) -> CSVValue { .number(x, places: places) }
        return [.integer(epoch), .integer(step), f(trainLoss), f(trainReconstruction), f(trainKL), f(evalLoss),
                f(evalReconstruction), f(evalKL), f(evalIWAE), f(gradientVariance, 8)]
            + (withLearningRate ? [f(learningRate, 12)] : []) + (withTemperature ? [f(temperature, 9)] : [])
            + [f(examplesPerSecond, 1), f(epochSeconds, 3), f(elapsedSeconds, 3)]
    }
}

/// A row of steps.csv (`output.steps_every`): one training batch's loss, every N steps.
public struct StepRow: Equatable, Sendable {
    public var step: Int
    /// The epoch the step belongs to (1-based: the epoch in progress).
    public var epoch: Int
    /// −ELBO of this batch (mean over its examples) and its reconstruction and KL parts, in nats.
    public var trainLoss: Double
    public var reconstruction: Double
    public var kl: Double
    /// Seconds of training in the run so far (earlier sessions included, as in metrics.csv).
    public var elapsedSeconds: Double

    public init(step: Int, epoch: Int, trainLoss: Double, reconstruction: Double, kl: Double, elapsedSeconds: Double) {
        (self.step, self.epoch, self.trainLoss, self.reconstruction, self.kl, self.elapsedSeconds) = (step, epoch, trainLoss, reconstruction, kl, elapsedSeconds)
    }

    public static let columns = ["step", "epoch", "train_loss", "train_recon", "train_kl", "elapsed_seconds"]

    public var csvRow: String {
        CSVTable.line([.integer(step), .integer(epoch), .number(trainLoss, places: 6), .number(reconstruction, places: 6),
                       .number(kl, places: 6), .number(elapsedSeconds, places: 3)])
    }
}

/// steps.csv: rows appended as training goes (one write per row), cut back to the checkpoint's step
/// when a run starts or resumes, so a resumed run continues it without duplicates or gaps.
public final class StepLog {
    public let path: String
    let handle: FileHandle

    /// Keeps the complete rows of an existing file up to `step` (a row cut short by a kill, or rows of
    /// steps after the checkpoint, are dropped: those steps are trained again), rewritten atomically.
    public init(path: String, keepingThrough step: Int) throws {
        self.path = path
        var text = StepRow.columns.joined(separator: ",") + "\n"
        if let data = FileManager.default.contents(atPath: path) {
            let contents = String(decoding: data, as: UTF8.self)
            var lines = contents.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            lines.removeLast()  // the text after the last newline: empty, or a row cut short
            if lines.first == StepRow.columns.joined(separator: ",") {
                for line in lines.dropFirst() {
                    let fields = line.split(separator: ",", omittingEmptySubsequences: false)
                    guard fields.count == StepRow.columns.count, let s = Int(fields[0]), s <= step else { continue }
                    text += line + "\n"
                }
            }
        }
        try writeAtomically(Data(text.utf8), to: path)
        guard let handle = FileHandle(forWritingAtPath: path) else { throw TrainingError.io(path: path, reason: "cannot open for appending") }
        handle.seekToEndOfFile()
        self.handle = handle
    }

    public func append(_ row: StepRow) {
        handle.write(Data((row.csvRow + "\n").utf8))
    }

    deinit { try? handle.close() }
}

/// Writes `contents` to `path` via a temporary file and rename, so a reader (or a killed run) never
/// sees a half-written file.
public func writeAtomically(_ contents: Data, to path: String) throws {
    let directory = (path as NSString).deletingLastPathComponent
    if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
    let temporary = path + ".tmp-\(ProcessInfo.processInfo.processIdentifier)"
    guard FileManager.default.createFile(atPath: temporary, contents: contents) else {
        throw TrainingError.io(path: path, reason: "cannot write")
    }
    if rename(temporary, path) != 0 {
        try? FileManager.default.removeItem(atPath: temporary)
        throw TrainingError.io(path: path, reason: String(cString: strerror(errno)))
    }
}

public func writeMetricsCSV(_ rows: [EpochMetrics], to path: String) throws {
    let learningRate = rows.contains { $0.learningRate != nil }, temperature = rows.contains { $0.temperature != nil }
    var table = CSVTable(columns: EpochMetrics.columns(learningRate: learningRate, temperature: temperature))
    for row in rows { table.append(row.cells(learningRate: learningRate, temperature: temperature)) }
    try table.write(to: path)
}

/// Reads a CSV written by this tool (no quoting needed: values are numbers and simple identifiers).
public func readCSV(_ path: String) throws -> (header: [String], rows: [[String]]) {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw TrainingError.io(path: path, reason: "no such file")
    }
    let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true)
    guard let first = lines.first else { return ([], []) }
    let header = first.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    return (header, lines.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) })
}

public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case nonFinite(epoch: Int, step: Int, what: String)
    case io(path: String, reason: String)
    case checkpoint(path: String, reason: String)
    case data(String)
    case runIndex(Int, count: Int)
    case childFailed(run: String, status: Int32)

    public var description: String {
        switch self {
        case let .nonFinite(epoch, step, what):
            return "training stopped: \(what) is NaN or infinite at epoch \(epoch), step \(step); metrics up to the last finished epoch are kept"
        case let .io(path, reason): return "\(path): \(reason)"
        case let .checkpoint(path, reason): return "checkpoint \(path): \(reason)"
        case let .data(message): return message
        case let .runIndex(index, count): return "--run-index \(index) is out of range: the sweep has \(count) runs (0..<\(count))"
        case let .childFailed(run, status): return "run \(run) failed with exit status \(status)"
        }
    }
}
