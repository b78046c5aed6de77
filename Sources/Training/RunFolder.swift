// What a run folder already holds, and whether a run may go there: a folder holding a run with a
// different config is never overwritten unless asked (`--overwrite`); `--resume` continues a run whose
// config differs only in a larger epoch count; anything else is an error naming the differing keys.
import Foundation

public enum RunFolder {
    /// What to do with a run's folder.
    public enum Decision: Equatable, Sendable {
        /// Nothing to keep there (no folder, no finished epoch), or the same config without `--resume`:
        /// train from the start.
        case start
        /// Continue from its checkpoint (same config, or only `training.epochs` grew).
        case resume
        /// It holds a run with a different config and `--overwrite` was given: clear it, then start.
        case overwrite
    }

    /// One differing key: its path and the two values (nil = absent).
    public struct Difference: Equatable, Sendable, CustomStringConvertible {
        public let path: String
        public let old: JSON?
        public let new: JSON?
        public var description: String {
            "\(path): \(old.map(\.description) ?? "(absent)") -> \(new.map(\.description) ?? "(absent)")"
        }
    }

    /// Keys ignored when comparing configs: they change how a run is shown, not what it computes.
    static let cosmeticKeys: Set<String> = ["output.progress", "output.steps_every", "provenance"]

    /// The files a run writes; `--overwrite` removes these (and nothing else) before starting.
    static let runFiles = ["checkpoint.bin", "metrics.csv", "config.json", "analysis.csv", "steps.csv"]

    /// The config of the run already in `directory` (its config.json without provenance, else its
    /// checkpoint's), or nil when the folder holds no run: no finished epoch in metrics.csv and no
    /// checkpoint. A config.json alone (a run stopped in its first epoch) holds nothing to lose.
    public static func existingRun(in directory: String) -> (config: JSON?, epochsDone: Int)? {
        let fm = FileManager.default
        let checkpoint = (directory as NSString).appendingPathComponent("checkpoint.bin")
        let metrics = (directory as NSString).appendingPathComponent("metrics.csv")
        let epochsDone = (try? readCSV(metrics))?.rows.count ?? 0
        guard epochsDone > 0 || fm.fileExists(atPath: checkpoint) else { return nil }
        let configPath = (directory as NSString).appendingPathComponent("config.json")
        if let data = fm.contents(atPath: configPath), let json = try? JSON.parse(data) {
            return (json, epochsDone)
        }
        if let header = try? Checkpoint.read(from: checkpoint).header, let json = try? JSON.parse(Data(header.configJSON.utf8)) {
            return (json, max(epochsDone, header.epoch))
        }
        return (nil, epochsDone)
    }

    /// Leaf keys whose values differ (cosmetic keys ignored), sorted by path.
    public static func differences(_ old: JSON, _ new: JSON, path: String = "") -> [Difference] {
        if cosmeticKeys.contains(path) { return [] }
        switch (old, new) {
        case let (.object(a), .object(b)):
            return Set(a.keys).union(b.keys).sorted().flatMap { key -> [Difference] in
                let child = path.isEmpty ? key : "\(path).\(key)"
                switch (a[key], b[key]) {
                case let (x?, y?): return differences(x, y, path: child)
                case let (x, y): return cosmeticKeys.contains(child) || (x ?? .null) == (y ?? .null) ? [] : [Difference(path: child, old: x, new: y)]
                }
            }
        default:
            return old == new ? [] : [Difference(path: path, old: old, new: new)]
        }
    }

    /// Decides what a run with `config` may do in `directory`; throws `RunFolderError` when the folder
    /// holds a run it must not overwrite.
    public static func decide(directory: String, config: RunConfig, resume: Bool, overwrite: Bool) throws -> Decision {
        guard let existing = existingRun(in: directory) else { return .start }
        guard let old = existing.config else {
            if overwrite { return .overwrite }
            throw RunFolderError(directory: directory, differences: [], unreadable: true, resumable: false)
        }
        let differences = differences(old, config.json)
        if differences.isEmpty { return resume ? .resume : .start }
        // Only the epoch count differs: a run can be continued up to the new count.
        // Not when a cosine schedule spans the run's length: more epochs would change its past learning rates.
        if differences.map(\.path) == ["training.epochs"], existing.epochsDone <= config.training.epochs, !config.scheduleSpansRun {
            if resume { return .resume }
            if overwrite { return .overwrite }
            throw RunFolderError(directory: directory, differences: differences, unreadable: false, resumable: true)
        }
        if overwrite { return .overwrite }
        throw RunFolderError(directory: directory, differences: differences, unreadable: false, resumable: false)
    }

    /// Removes the files of the run in `directory` (not the folder, nor files this tool did not write).
    static func clear(_ directory: String) throws {
        for name in runFiles {
            let path = (directory as NSString).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        }
    }
}

/// A run folder holding a run with a different config, which is not overwritten.
public struct RunFolderError: Error, CustomStringConvertible, Equatable {
    public let directory: String
    public let differences: [RunFolder.Difference]
    /// The folder holds a run whose config cannot be read.
    public let unreadable: Bool
    /// Only `training.epochs` grew, so `--resume` continues it.
    public let resumable: Bool

    public var description: String {
        var text: String
        if unreadable {
            text = "run folder \(directory) holds a run whose config cannot be read; not overwriting it.\n"
        } else {
            let shown = differences.prefix(12).map { "  \($0)" }
            let more = differences.count > shown.count ? ["  ... and \(differences.count - shown.count) more"] : []
            text = "run folder \(directory) holds a run with a different configuration; not overwriting it. Differing keys (theirs -> this run's):\n"
                + (shown + more).joined(separator: "\n") + "\n"
        }
        var ways = ["--out DIR to write this run (or sweep) elsewhere"]
        if resumable { ways.append("--resume to continue that run to the new epoch count") }
        ways.append("--overwrite to replace it")
        return text + "Ways out: " + ways.joined(separator: "; ")
    }
}
