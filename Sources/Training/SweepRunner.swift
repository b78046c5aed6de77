// Runs a sweep: all runs in sequence, one run by index (job arrays), or N child processes in
// parallel; then collects summary.csv from the runs' own files, so every route gives the same summary.
import Foundation

public enum SweepRunner {
    /// Runs the selected runs of `plan` in this process.
    public static func runSequentially(_ plan: SweepPlan, indices: [Int]? = nil, resume: Bool,
                                       log: @escaping (String) -> Void = { print($0) }) throws {
        for index in indices ?? Array(plan.runs.indices) {
            guard plan.runs.indices.contains(index) else { throw TrainingError.runIndex(index, count: plan.runs.count) }
            let run = plan.runs[index]
            log("run \(index + 1)/\(plan.runs.count): \(run.id)")
            let trainer = try Trainer(config: run.config, directory: directory(of: run, in: plan), log: log)
            try trainer.run(resume: resume)
        }
        try writeSummary(plan)
    }

    /// Runs every run as a child process (`executable` with `arguments` plus `--run-index i --resume`),
    /// at most `jobs` at a time; each child's output goes to `<run>/train.log`.
    public static func runInParallel(_ plan: SweepPlan, jobs: Int, executable: String, arguments: [String],
                                     log: @escaping (String) -> Void = { print($0) }) throws {
        var pending = Array(plan.runs.indices.reversed())
        var running: [(Process, PlannedRun)] = []
        var failures: [TrainingError] = []
        while !pending.isEmpty || !running.isEmpty {
            while running.count < jobs, let index = pending.popLast() {
                let run = plan.runs[index]
                let runDirectory = directory(of: run, in: plan)
                try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
                let logPath = (runDirectory as NSString).appendingPathComponent("train.log")
                FileManager.default.createFile(atPath: logPath, contents: nil)
                let process = Process()
                process.executableURL = URL(fileURLWithPath: executable)
                process.arguments = arguments + ["--run-index", String(index), "--resume", "--no-summary"]
                let handle = FileHandle(forWritingAtPath: logPath)
                process.standardOutput = handle
                process.standardError = handle
                try process.run()
                log("started run \(index + 1)/\(plan.runs.count): \(run.id) (log: \(logPath))")
                running.append((process, run))
            }
            Thread.sleep(forTimeInterval: 0.05)
            running.removeAll { process, run in
                guard !process.isRunning else { return false }
                if process.terminationStatus != 0 {
                    failures.append(.childFailed(run: run.id, status: process.terminationStatus))
                    log("run \(run.id) FAILED (exit \(process.terminationStatus)); see its train.log")
                } else {
                    log("finished run \(run.index + 1)/\(plan.runs.count): \(run.id)")
                }
                return true
            }
        }
        try writeSummary(plan)
        if let first = failures.first { throw first }
    }

    public static func directory(of run: PlannedRun, in plan: SweepPlan) -> String {
        (plan.directory as NSString).appendingPathComponent(run.id)
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
        let axisColumns = plan.axes.map(\.path).filter { $0 != "estimator.name" && $0 != "training.seed" }
        var text = (summaryColumns + axisColumns).joined(separator: ",") + "\n"
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
            var fields = [String(run.index), run.id, status, config.estimator.estimator, config.latent.spec.description.replacingOccurrences(of: " ", with: "-"),
                          String(config.training.seed), String(epochsDone), String(config.training.epochs)]
            fields += ["train_loss", "train_recon", "train_kl", "eval_loss", "eval_iwae_nll", "elapsed_seconds"].map { final[$0] ?? "" }
            fields += axisColumns.map { path in
                run.assignments.first { $0.path == path }.map { Sweep.slug($0.value) } ?? ""
            }
            text += fields.joined(separator: ",") + "\n"
        }
        let path = (plan.directory as NSString).appendingPathComponent("summary.csv")
        try writeAtomically(Data(text.utf8), to: path)
        return path
    }
}
