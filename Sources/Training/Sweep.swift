// Sweeps: any list-valued key in a config is a sweep axis, and the runs are the cartesian product of
// the axes (e.g. `"estimator": {"name": ["st", "reinmax"]}, "training": {"seed": [1, 2, 3]}` is six
// runs). Keys whose value is itself a list (hidden sizes) sweep when given a list of lists.
import Foundation
import VAE

public struct PlannedRun: Sendable {
    /// Position in the sweep, for `--run-index` (job arrays).
    public let index: Int
    /// Folder name, built from the swept values (`estimator-reinmax_shape-4x24_seed-2`), or "run".
    public let id: String
    /// The swept keys and their values for this run, in axis order.
    public let assignments: [(path: String, value: JSON)]
    public let config: RunConfig
    public let json: JSON
}

public struct SweepPlan: Sendable {
    public let name: String
    public let axes: [(path: String, values: [JSON])]
    public let runs: [PlannedRun]
    /// The folder holding every run and summary.csv.
    public let directory: String
}

public enum Sweep {
    /// Keys whose value is naturally a list; only a list of lists sweeps them.
    static let listValuedKeys: Set<String> = ["model.encoder_hidden", "model.decoder_hidden"]

    /// Loads a config file, applies `--set path=value` overrides and expands the sweep.
    /// - Parameter outputDirectory: replaces `<output.directory>/<name>` as the sweep folder.
    public static func plan(configPath: String, overrides: [String] = [], outputDirectory: String? = nil) throws -> SweepPlan {
        guard let data = FileManager.default.contents(atPath: configPath) else {
            throw ConfigError.unreadable(path: configPath, reason: "no such file")
        }
        let json: JSON
        do { json = try JSON.parse(data) } catch {
            throw ConfigError.unreadable(path: configPath, reason: "not valid JSON (\(error))")
        }
        let defaultName = ((configPath as NSString).lastPathComponent as NSString).deletingPathExtension
        return try plan(json: json, overrides: overrides, defaultName: defaultName, outputDirectory: outputDirectory)
    }

    public static func plan(json original: JSON, overrides: [String] = [], defaultName: String = "run",
                            outputDirectory: String? = nil) throws -> SweepPlan {
        var json = original
        guard case .object = json else {
            throw ConfigError.wrongType(path: "(top level)", expected: "an object", found: json.typeName)
        }
        for override in overrides {
            guard let eq = override.firstIndex(of: "="), eq != override.startIndex else {
                throw ConfigError.invalidValue(path: override, value: "", requirement: "--set takes key.path=value")
            }
            let path = String(override[..<eq])
            guard path.split(separator: ".").first.map(String.init).map(RunConfig.sections.contains) == true else {
                throw ConfigError.unknownKey(path: path, allowed: RunConfig.sections)
            }
            json.set(path, to: JSON.parseLoose(String(override[override.index(after: eq)...])))
        }
        let axes = collectAxes(json, prefix: "")
        var runs: [PlannedRun] = []
        let total = axes.reduce(1) { $0 * $1.values.count }
        let ids = runIDs(axes)
        for index in 0..<total {
            var runJSON = json
            var remainder = index
            var assignments: [(String, JSON)] = []
            // Last axis varies fastest.
            var picks = [Int](repeating: 0, count: axes.count)
            for a in stride(from: axes.count - 1, through: 0, by: -1) {
                picks[a] = remainder % axes[a].values.count
                remainder /= axes[a].values.count
            }
            for (a, axis) in axes.enumerated() {
                runJSON.set(axis.path, to: axis.values[picks[a]])
                assignments.append((axis.path, axis.values[picks[a]]))
            }
            let config = try RunConfig(json: runJSON, defaultName: defaultName)
            runs.append(PlannedRun(index: index, id: ids(picks), assignments: assignments, config: config, json: config.json))
        }
        let name = runs.first?.config.name ?? defaultName
        let directory = outputDirectory ?? ((runs.first?.config.output.directory ?? "results") as NSString).appendingPathComponent(name)
        return SweepPlan(name: name, axes: axes, runs: runs, directory: directory)
    }

    static func collectAxes(_ json: JSON, prefix: String) -> [(path: String, values: [JSON])] {
        guard case let .object(object) = json else { return [] }
        var axes: [(String, [JSON])] = []
        for key in object.keys.sorted() {
            let path = prefix.isEmpty ? key : "\(prefix).\(key)"
            switch object[key]! {
            case let .array(items) where listValuedKeys.contains(path):
                if items.contains(where: { if case .array = $0 { return true } else { return false } }) {
                    axes.append((path, items))
                }
            case let .array(items):
                axes.append((path, items))
            case .object:
                axes += collectAxes(object[key]!, prefix: path)
            default:
                continue
            }
        }
        return axes
    }

    /// `latent.shape` sets variables and classes together, so latent shapes can be one sweep axis. It
    /// follows the ReinMax paper's naming, classes × variables: "4x24" is 24 variables with 4 classes,
    /// "8x4" is 4 variables with 8 classes (8^4 = 4096 codes). For Bernoulli, "200" is 200 units.
    static func resolveLatentShape(_ json: JSON) throws -> JSON {
        guard let shape = json.value(at: "latent.shape") else { return json }
        var out = json
        guard case let .string(text) = shape else {
            throw ConfigError.wrongType(path: "latent.shape", expected: "a string like \"4x24\"", found: shape.typeName)
        }
        guard let spec = LatentSpec(shape: text) else {
            throw ConfigError.invalidValue(path: "latent.shape", value: "\"\(text)\"",
                                           requirement: "\"CxL\" (classes x variables) for categorical, e.g. \"4x24\", or \"N\" for bernoulli")
        }
        if json.value(at: "latent.variables") != nil || json.value(at: "latent.classes") != nil {
            throw ConfigError.invalidValue(path: "latent.shape", value: "\"\(text)\"",
                                           requirement: "give either latent.shape or latent.variables/classes, not both")
        }
        guard case var .object(latent)? = json["latent"] else { return json }
        latent["shape"] = nil
        latent["variables"] = .number(Double(spec.variables))
        if spec.family == .categorical { latent["classes"] = .number(Double(spec.classes)) }
        out.set("latent", to: .object(latent))
        return out
    }

    /// Readable, unique folder names from the swept values.
    static func runIDs(_ axes: [(path: String, values: [JSON])]) -> ([Int]) -> String {
        let labels = axes.map { axis -> String in
            let last = String(axis.path.split(separator: ".").last!)
            let clash = axes.filter { $0.path.split(separator: ".").last.map(String.init) == last }.count > 1
            return clash ? axis.path.replacingOccurrences(of: ".", with: "-") : (last == "name" ? String(axis.path.split(separator: ".").first!) : last)
        }
        return { picks in
            guard !axes.isEmpty else { return "run" }
            return zip(labels, zip(axes, picks)).map { label, pair in
                "\(label)-\(slug(pair.0.values[pair.1]))"
            }.joined(separator: "_")
        }
    }

    static func slug(_ value: JSON) -> String {
        let text: String
        switch value {
        case let .string(s): text = s
        case let .array(items): text = items.map { slug($0) }.joined(separator: "x")
        default: text = value.description
        }
        return String(text.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "_" })
    }
}
