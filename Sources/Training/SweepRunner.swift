// Runs a sweep: all runs in sequence, one run by index (job arrays), or N child processes in
// parallel; then collects summary.csv from the runs' own files, so every route gives the same summary.
import Foundation

public enum SweepRunner {
    /// Runs the selected runs of `plan` in this process. Every selected run's folder is checked first,
    /// so a sweep stops before training anything if one of them holds a run it must not overwrite.
    public static func runSequentially(_ plan: SweepPlan, indices: [Int]? = nil, resume: Bool, overwrite: Bool = false,
                                       log: @escaping (String) -> Void = { print($0) }) throws {
        let selected = indices ?? Array(plan.runs.indices)
        for index in selected where !plan.runs.indices.contains(index) { throw TrainingError.runIndex(index, count: plan.runs.count) }
        try checkRunFolders(plan, indices: selected, resume: resume, overwrite: overwrite)
        for index in selected {
            let run = plan.runs[index]
            log("run \(index + 1)/\(plan.runs.count): \(run.id)")
            let trainer = try Trainer(config: run.config, directory: directory(of: run, in: plan), log: log)
            try trainer.run(resume: resume, overwrite: overwrite)
        }
        try writeSummary(plan)
    }

    /// Throws the first run folder's `RunFolderError` (with how many others conflict) if any of the
    /// selected runs' folders holds a run that `resume`/`overwrite` do not allow replacing or continuing.
    public static func checkRunFolders(_ plan: SweepPlan, indices: [Int]? = nil, resume: Bool, overwrite: Bool) throws {
        var conflicts: [RunFolderError] = []
        for index in indices ?? Array(plan.runs.indices) where plan.runs.indices.contains(index) {
            let run = plan.runs[index]
            do {
                _ = try RunFolder.decide(directory: directory(of: run, in: plan), config: run.config, resume: resume, overwrite: overwrite)
            } catch let error as RunFolderError {
                conflicts.append(error)
            }
        }
        guard let first = conflicts.first else { return }
        if conflicts.count == 1 { throw first }
        throw SweepFolderError(first: first, count: conflicts.count)
    }

    /// Runs every run as a child process (`executable` with `arguments` plus `--run-index i --resume`),
    /// at most `jobs` at a time; each child's output goes to `<run>/train.log`.
    /// A live sweep line (runs done/total, failures, ETA) goes to `sink` when `progress` allows it
    /// (default: the runs' `output.progress`, i.e. on a terminal); each log line clears and redraws it.
    public static func runInParallel(_ plan: SweepPlan, jobs: Int, executable: String, arguments: [String],
                                     progress mode: ProgressMode? = nil, sink: @escaping ProgressSink = standardErrorSink,
                                     log plainLog: @escaping (String) -> Void = { print($0) }) throws {
        var pending = Array(plan.runs.indices.reversed())
        var running: [(Process, PlannedRun)] = []
        var failures: [TrainingError] = []
        let progress = SweepProgress(mode: mode ?? plan.runs.first?.config.output.progress ?? .auto,
                                     total: plan.runs.count, sink: sink)
        let log: (String) -> Void = { line in
            progress.clear()
            plainLog(line)
            progress.draw(force: true)
        }
        defer { progress.clear() }
        while !pending.isEmpty || !running.isEmpty {
            while running.count < jobs, let index = pending.popLast() {
                let run = plan.runs[index]
                let runDirectory = directory(of: run, in: plan)
                try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
                let logPath = (runDirectory as NSString).appendingPathComponent("train.log")
                let handle = try appendingLog(logPath)
                let process = Process()
                process.executableURL = URL(fileURLWithPath: executable)
                process.arguments = arguments + ["--run-index", String(index), "--resume", "--no-summary"]
                process.standardOutput = handle
                process.standardError = handle
                try process.run()
                running.append((process, run))
                progress.running = running.count
                log("started run \(index + 1)/\(plan.runs.count): \(run.id) (log: \(logPath))")
            }
            Thread.sleep(forTimeInterval: 0.05)
            running.removeAll { process, run in
                guard !process.isRunning else { return false }
                progress.done += 1
                progress.running -= 1
                if process.terminationStatus != 0 {
                    failures.append(.childFailed(run: run.id, status: process.terminationStatus))
                    progress.failed += 1
                    log("run \(run.id) FAILED (exit \(process.terminationStatus)); see its train.log")
                } else {
                    log("finished run \(run.index + 1)/\(plan.runs.count): \(run.id)")
                }
                return true
            }
            progress.draw(force: false)
        }
        try writeSummary(plan)
        if let first = failures.first { throw first }
    }

    public static func directory(of run: PlannedRun, in plan: SweepPlan) -> String {
        (plan.directory as NSString).appendingPathComponent(run.id)
    }

    /// `<run>/train.log` opened for appending, after a dated header line: a sweep run again (a resumed or
    /// extended run) adds to the log of the earlier session instead of replacing it.
    static func appendingLog(_ path: String) throws -> FileHandle {
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else { throw TrainingError.io(path: path, reason: "cannot create") }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw TrainingError.io(path: path, reason: "cannot open for appending") }
        handle.seekToEndOfFile()
        handle.write(Data("== \(ISO8601DateFormatter().string(from: Date()))\n".utf8))
        return handle
    }

    // MARK: - summary.csv

    public static let summaryColumns = [
        "run_index", "run_id", "status", "estimator", "latent", "seed", "epochs_done", "epochs",
        "train_loss", "train_recon", "train_kl", "eval_loss", "eval_iwae_nll", "elapsed_seconds",
    ]

    /// One row per run with its final metrics, read from each run's metrics.csv (missing runs are
    /// listed with status `missing`, unfinished ones `incomplete`). Swept keys get their own columns.
    @discardableResult
    public static func writeSummary(_ plan: SweepPlan) throws -> String {
        let axisColumns = Sweep.summaryColumns(plan.axes, fixed: summaryColumns)
        var table = CSVTable(columns: summaryColumns + axisColumns.map(\.column))
        for run in plan.runs {
            let config = run.config
            let metricsPath = (directory(of: run, in: plan) as NSString).appendingPathComponent("metrics.csv")
            var final: [String: String] = [:]
            var epochsDone = 0
            if let csv = try? readCSV(metricsPath), let last = csv.rows.last {
                for (k, v) in zip(csv.header, last) { final[k] = v }
                epochsDone = Int(final["epoch"] ?? "") ?? 0
            }
            let status = epochsDone == 0 ? "missing" : epochsDone >= config.training.epochs ? "finished" : "incomplete"
            // Final metrics are copied as metrics.csv wrote them (already in the CSV number format).
            var fields: [CSVValue] = [.integer(run.index), .text(run.id), .text(status), .text(config.estimator.estimator),
                                      .text(config.latent.spec.description.replacingOccurrences(of: " ", with: "-")),
                                      .integer(config.training.seed), .integer(epochsDone), .integer(config.training.epochs)]
            fields += ["train_loss", "train_recon", "train_kl", "eval_loss", "eval_iwae_nll", "elapsed_seconds"].map { .text(final[$0] ?? "") }
            fields += axisColumns.map { column in
                guard let assigned = run.assignments.first(where: { $0.path == column.axis })?.value else { return .missing }
                var value: JSON? = assigned
                for part in column.key { value = value?[part] }
                return value.map { $0 == .null ? .missing : .text(Sweep.slug($0)) } ?? .missing
            }
            table.append(fields)
        }
        let path = (plan.directory as NSString).appendingPathComponent("summary.csv")
        try table.write(to: path)
        return path
    }
}

/// The live line of `--jobs N`: runs done/total, failures, how many are running, and the sweep's ETA
/// (elapsed time per finished run times the runs left: with N parallel jobs this is the sweep's own rate).
public final class SweepProgress {
    public let enabled: Bool
    let total: Int
    let sink: ProgressSink
    let start = Date()
    var lastDraw = Date.distantPast
    public var done = 0, failed = 0, running = 0

    public init(mode: ProgressMode, total: Int, sink: @escaping ProgressSink = standardErrorSink) {
        enabled = progressEnabled(mode)
        self.total = total
        self.sink = sink
    }

    public var text: String {
        let elapsed = Date().timeIntervalSince(start)
        let eta = done > 0 ? formatDuration(elapsed / Double(done) * Double(total - done)) : "?"
        return "sweep: \(done)/\(total) runs done, \(failed) failed, \(running) running, elapsed \(formatDuration(elapsed)), ETA \(eta)"
    }

    /// Redraws at most once a second unless `force`.
    public func draw(force: Bool) {
        guard enabled, force || Date().timeIntervalSince(lastDraw) >= 1 else { return }
        lastDraw = Date()
        sink("\r\u{1B}[K" + text)
    }

    public func clear() {
        if enabled { sink("\r\u{1B}[K") }
    }
}

/// Several run folders of a sweep hold runs with a different config: the first one in full, and the count.
public struct SweepFolderError: Error, CustomStringConvertible {
    public let first: RunFolderError
    public let count: Int
    public var description: String {
        "\(count) run folders of this sweep hold runs with a different configuration; nothing was started. The first:\n\(first)"
    }
}
