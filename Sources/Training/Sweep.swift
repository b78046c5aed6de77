// Sweeps: any list-valued key in a config is a sweep axis, and the runs are the cartesian product of
// the axes (e.g. `"estimator": {"name": ["st", "reinmax"]}, "training": {"seed": [1, 2, 3]}` is six
// runs). Keys whose value is itself a list (hidden sizes) sweep when given a list of lists.
import Estimators
import Foundation
import VAE

public struct PlannedRun: Sendable {
    /// Position in the sweep, for `--run-index` (job arrays).
    public let index: Int
    /// Folder name, built from the swept values (`estimator-reinmax_shape-4x24_seed-2`), or "run".
    public let id: String
    /// The swept keys and their values for this run, in axis order. An estimator option the run's
    /// estimator does not take is not among them (it was dropped for this run).
    public let assignments: [(path: String, value: JSON)]
    /// The estimator options this run got from the config (`estimator.<key>`, sorted), swept or not;
    /// the sizes the model determines (`input_size`, `code_width`) are not listed.
    public let estimatorSettings: [(path: String, value: JSON)]
    /// The values the config's conditional `overrides` set for this run (the last one wins per key), in
    /// the order first set.
    public let overrides: [(path: String, value: JSON)]
    public let config: RunConfig
    public let json: JSON
}

extension PlannedRun {
    /// `run_id  key=value ...`: the swept values, and when the sweep has several estimators, every
    /// estimator option the run got (an option its estimator does not take is absent).
    public func listing(in plan: SweepPlan) -> String {
        var settings = assignments
        let estimators = Set(plan.runs.map(\.config.estimator.estimator))
        if estimators.count > 1 {
            settings += estimatorSettings.filter { setting in
                !assignments.contains { $0.path == setting.path } && !overrides.contains { $0.path == setting.path }
            }
        }
        var text = settings.map { "\($0.path)=\($0.value)" }.joined(separator: " ")
        if !overrides.isEmpty {
            text += (text.isEmpty ? "" : "  ") + "overrides: " + overrides.map { "\($0.path)=\($0.value)" }.joined(separator: " ")
        }
        return text.isEmpty ? id : "\(id)  \(text)"
    }
}

public struct SweepPlan: Sendable {
    public let name: String
    public let axes: [(path: String, values: [JSON])]
    public let runs: [PlannedRun]
    /// The folder holding every run and summary.csv.
    public let directory: String
    /// One-line notes on what the plan did with the config: options dropped for estimators that do
    /// not take them, runs merged because they became identical, `--set` values replacing others.
    public let notes: [String]
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
        var notes: [String] = []
        guard case .object = json else {
            throw ConfigError.wrongType(path: "(top level)", expected: "an object", found: json.typeName)
        }
        var overridden: [String] = []
        for override in overrides {
            guard let eq = override.firstIndex(of: "="), eq != override.startIndex else {
                throw ConfigError.invalidValue(path: override, value: "", requirement: "--set takes key.path=value")
            }
            let path = String(override[..<eq])
            guard path.split(separator: ".").first.map(String.init).map(RunConfig.sections.contains) == true else {
                throw ConfigError.unknownKey(path: path, allowed: RunConfig.sections)
            }
            let value = JSON.parseLoose(String(override[override.index(after: eq)...]))
            try giveLatentShapePrecedence(&json, setting: path, to: value, notes: &notes)
            json.set(path, to: value)
            overridden.append(path)
        }
        // Conditional overrides are not a section of a run: taken out here, applied after expansion.
        var conditionals: [ConditionalOverride] = []
        if case var .object(top) = json, let raw = top["overrides"] {
            conditionals = try ConditionalOverride.parse(raw)
            top["overrides"] = nil
            json = .object(top)
        }
        // Every key is checked before anything expands: an empty list would silently make zero runs.
        try rejectEmptyLists(json, path: "")
        let axes = collectAxes(json, prefix: "")
        let total = axes.reduce(1) { $0 * $1.values.count }

        // Expand the cartesian product (last axis fastest).
        var candidates: [(picks: [Int], json: JSON)] = []
        for index in 0..<total {
            var runJSON = json
            var remainder = index
            var picks = [Int](repeating: 0, count: axes.count)
            for a in stride(from: axes.count - 1, through: 0, by: -1) {
                picks[a] = remainder % axes[a].values.count
                remainder /= axes[a].values.count
            }
            for (a, axis) in axes.enumerated() { runJSON.set(axis.path, to: axis.values[picks[a]]) }
            candidates.append((picks, runJSON))
        }

        // Options apply only to the estimators that take them.
        let nameWasSet = overridden.contains { $0 == "estimator" || $0 == "estimator.name" }
        let fileEstimators = estimatorNames(in: original)
        var filter = EstimatorOptionFilter(sweepEstimators: Set(candidates.compactMap { estimatorName(of: $0.json) }),
                                           configEstimators: nameWasSet ? fileEstimators : [],
                                           optionsSetOnCommandLine: Set(overridden.filter { $0.hasPrefix("estimator.") }.map { String($0.dropFirst("estimator.".count)) }))
        for c in candidates.indices { try filter.apply(to: &candidates[c].json) }
        notes += filter.notes
        notes += dropTemperatureSchedule(&candidates)

        // Conditional overrides, in order, on the expanded runs. A key given with --set stays as given.
        var applied = [[(path: String, value: JSON)]](repeating: [], count: candidates.count)
        var skippedForSet: Set<String> = []
        for conditional in conditionals {
            var matched = 0
            for c in candidates.indices where conditional.matches(candidates[c].json) {
                matched += 1
                for (path, value) in conditional.set {
                    if overridden.contains(where: { $0 == path || path.hasPrefix($0 + ".") || $0.hasPrefix(path + ".") }) {
                        skippedForSet.insert("overrides[\(conditional.index)].set.\(path)")
                        continue
                    }
                    candidates[c].json.set(path, to: value)
                    if let i = applied[c].firstIndex(where: { $0.path == path }) { applied[c][i].value = value }
                    else { applied[c].append((path, value)) }
                }
            }
            // A sweep narrowed with --set (say --set estimator.name=st) leaves the other cells' overrides idle.
            let narrowed = conditional.when.contains { condition in
                overridden.contains { $0 == condition.path || condition.path.hasPrefix($0 + ".") || $0.hasPrefix(condition.path + ".")
                    || (condition.path == "latent.shape" && ($0 == "latent.variables" || $0 == "latent.classes")) }
            }
            guard matched > 0 || narrowed else {
                let seen = conditional.when.map { condition -> String in
                    let values = Set(candidates.map { ConditionalOverride.value(at: condition.path, in: $0.json)?.description ?? "(not set)" })
                    return "\(condition.path) is one of \(values.sorted().joined(separator: ", "))"
                }
                throw ConfigError.invalidValue(path: "overrides[\(conditional.index)].when", value: conditional.whenDescription,
                    requirement: "matches no run of the sweep (\(seen.joined(separator: "; ")))")
            }
        }
        if !skippedForSet.isEmpty {
            notes.append("--set wins over the config's overrides: \(skippedForSet.sorted().joined(separator: ", ")) not applied")
        }

        // Decode every run; runs that became identical (the same resolved config) are one run.
        let ids = runIDs(axes)
        var runs: [PlannedRun] = []
        var seen: [String: Int] = [:]
        for (c, (picks, runJSON)) in candidates.enumerated() {
            let config = try RunConfig(json: runJSON, defaultName: defaultName)
            // Before anything is allocated: a size that cannot fit is a config error, not an abort.
            try MemoryEstimate(config: config).check()
            let resolved = config.json
            let key = resolved.serialized(pretty: false)
            if seen[key] != nil { continue }
            // An axis whose key was dropped for this run (an option its estimator does not take) is not
            // one of its settings, and does not name its folder.
            let present = axes.indices.filter { runJSON.value(at: axes[$0].path) != nil }
            let assignments = present.map { (path: axes[$0].path, value: axes[$0].values[picks[$0]]) }
            var estimatorSettings: [(path: String, value: JSON)] = []
            if case let .object(options)? = runJSON["estimator"] {
                for k in options.keys.sorted() where k != "name" && options[k] != .null {
                    estimatorSettings.append(("estimator.\(k)", options[k]!))
                }
            }
            let id = ids(picks, Set(present))
            if let clash = runs.first(where: { $0.id == id }) {
                throw ConfigError.invalidValue(path: assignments.map(\.path).joined(separator: ", "), value: id,
                    requirement: "runs \(clash.index) and \(runs.count) would share the folder '\(id)' but differ; make the swept values distinguishable")
            }
            seen[key] = runs.count
            runs.append(PlannedRun(index: runs.count, id: id, assignments: assignments,
                                   estimatorSettings: estimatorSettings, overrides: applied[c], config: config, json: resolved))
        }
        if runs.count < candidates.count {
            notes.append("\(candidates.count - runs.count) run(s) became identical to another and were merged (\(candidates.count) -> \(runs.count) runs)")
        }
        let name = runs.first?.config.name ?? defaultName
        let directory = outputDirectory ?? ((runs.first?.config.output.directory ?? "results") as NSString).appendingPathComponent(name)
        return SweepPlan(name: name, axes: axes, runs: runs, directory: directory, notes: notes)
    }

    // MARK: - Conditional overrides

    /// `{"when": {"estimator.name": "reinmax", "latent.shape": "4x24"}, "set": {"training.learning_rate": 5e-4}}`:
    /// settings for the runs whose values match every `when` key (a list there means any of its values).
    /// Keys are dotted paths or nested objects. Applied after the sweep expands, in the order written, so a
    /// later override refines an earlier one; every `set` key is then decoded with its run like any other.
    struct ConditionalOverride {
        let index: Int
        let when: [(path: String, values: [JSON])]
        let set: [(path: String, value: JSON)]

        var whenDescription: String {
            "{" + when.map { "\"\($0.path)\": " + ($0.values.count == 1 ? $0.values[0].description : JSON.array($0.values).description) }
                .joined(separator: ", ") + "}"
        }

        /// A run's value at `path`; `latent.shape` is also read from `latent.classes`/`variables`.
        static func value(at path: String, in json: JSON) -> JSON? {
            if let value = json.value(at: path), value != .null { return value }
            if path == "latent.shape", case let .number(variables)? = json.value(at: "latent.variables") {
                if case let .number(classes)? = json.value(at: "latent.classes") { return .string("\(Int(classes))x\(Int(variables))") }
                return .string("\(Int(variables))")
            }
            return nil
        }

        func matches(_ json: JSON) -> Bool {
            when.allSatisfy { condition in Self.value(at: condition.path, in: json).map(condition.values.contains) ?? false }
        }

        static func parse(_ raw: JSON) throws -> [ConditionalOverride] {
            guard case let .array(items) = raw else {
                throw ConfigError.wrongType(path: "overrides", expected: "a list of {\"when\": {...}, \"set\": {...}} objects", found: raw.typeName)
            }
            guard !items.isEmpty else {
                throw ConfigError.invalidValue(path: "overrides", value: "[]", requirement: "give at least one {\"when\": {...}, \"set\": {...}}, or leave the key out")
            }
            return try items.enumerated().map { i, item in
                let here = "overrides[\(i)]"
                guard case let .object(object) = item else {
                    throw ConfigError.wrongType(path: here, expected: "an object {\"when\": {...}, \"set\": {...}}", found: item.typeName)
                }
                if let unknown = object.keys.sorted().first(where: { $0 != "when" && $0 != "set" }) {
                    throw ConfigError.unknownKey(path: "\(here).\(unknown)", allowed: ["when", "set"])
                }
                let when = try leaves(object["when"], path: "\(here).when")
                let set = try leaves(object["set"], path: "\(here).set")
                let conditions = try when.map { path, value -> (path: String, values: [JSON]) in
                    if case let .array(values) = value {
                        guard !values.isEmpty else {
                            throw ConfigError.invalidValue(path: "\(here).when.\(path)", value: "[]", requirement: "a list here means any of its values; give at least one")
                        }
                        return (path, values)
                    }
                    return (path, [value])
                }
                for (path, value) in set {
                    if case let .array(values) = value, !(listValuedKeys.contains(path) && !values.contains(where: { if case .array = $0 { return true } else { return false } })) {
                        throw ConfigError.invalidValue(path: "\(here).set.\(path)", value: value.description,
                            requirement: "an override sets one value (a list would be a sweep axis; sweep it in the config's body)")
                    }
                }
                return ConditionalOverride(index: i, when: conditions, set: set)
            }
        }

        /// The non-object values under `node`, as dotted paths, each checked to start with a config section.
        private static func leaves(_ node: JSON?, path: String) throws -> [(String, JSON)] {
            guard case let .object(object)? = node, !object.isEmpty else {
                throw ConfigError.wrongType(path: path, expected: "a non-empty object of config keys (\"training.learning_rate\": 0.001)",
                                            found: node?.typeName ?? "nothing")
            }
            var out: [(String, JSON)] = []
            func visit(_ node: JSON, _ key: String) {
                if case let .object(children) = node, !children.isEmpty {
                    for k in children.keys.sorted() { visit(children[k]!, "\(key).\(k)") }
                } else {
                    out.append((key, node))
                }
            }
            for key in object.keys.sorted() { visit(object[key]!, key) }
            let allowed = RunConfig.sections.filter { $0 != "name" && $0 != "sweep" }
            for (key, _) in out {
                let section = String(key.split(separator: ".").first ?? "")
                guard allowed.contains(section), key.contains(".") else {
                    throw ConfigError.unknownKey(path: "\(path).\(key)", allowed: allowed.map { "\($0).<key>" })
                }
            }
            return out
        }
    }

    // MARK: - Estimator options

    /// The estimator name of one run's JSON, if it is a string.
    static func estimatorName(of json: JSON) -> String? {
        if case let .string(name)? = json.value(at: "estimator.name") { return name }
        return nil
    }

    /// The estimator names a config mentions, swept (a list, or a list of estimator objects) or not.
    static func estimatorNames(in json: JSON) -> Set<String> {
        var names: Set<String> = []
        func visit(_ node: JSON?) {
            switch node {
            case let .string(name)?: names.insert(name)
            case let .array(items)?: items.forEach(visit)
            case let .object(object)?: visit(object["name"])
            default: break
            }
        }
        visit(json["estimator"])
        return names
    }

    /// A temperature schedule applies to the estimators with a fixed temperature: in a sweep where some
    /// estimators have one, it is dropped for the runs of the others, with a note. Where none has one, it
    /// is left for decoding to report as an error.
    static func dropTemperatureSchedule(_ candidates: inout [(picks: [Int], json: JSON)]) -> [String] {
        func scheduled(_ json: JSON) -> Bool { (json.value(at: "schedule.temperature") ?? .null) != .null }
        let takers = Set(EstimatorRegistry.temperatureScheduleEstimators)
        let names = Set(candidates.filter { scheduled($0.json) }.compactMap { estimatorName(of: $0.json) })
        guard !names.isDisjoint(with: takers) else { return [] }
        var droppedFor: Set<String> = []
        for c in candidates.indices where scheduled(candidates[c].json) {
            guard let name = estimatorName(of: candidates[c].json), !takers.contains(name) else { continue }
            candidates[c].json.set("schedule.temperature", to: .null)
            droppedFor.insert(name)
        }
        guard !droppedFor.isEmpty else { return [] }
        return ["schedule.temperature applies to \(names.intersection(takers).sorted().joined(separator: ", ")) only; dropped for the runs of \(droppedFor.sorted().joined(separator: ", "))"]
    }

    /// Drops, run by run, the estimator options the run's estimator does not take, when another
    /// estimator of the sweep takes them (or, after `--set estimator.name=...`, when the config's own
    /// estimator did). An option nobody takes stays an error.
    struct EstimatorOptionFilter {
        let sweepEstimators: Set<String>
        /// The config file's estimators when `--set` replaced the name; empty otherwise.
        let configEstimators: Set<String>
        let optionsSetOnCommandLine: Set<String>
        /// option -> estimators it was dropped for
        private(set) var dropped: [String: Set<String>] = [:]
        /// options of the config's replaced estimator, dropped for the `--set` one
        private(set) var droppedFromConfig: [String: Set<String>] = [:]

        init(sweepEstimators: Set<String>, configEstimators: Set<String>, optionsSetOnCommandLine: Set<String>) {
            self.sweepEstimators = sweepEstimators
            self.configEstimators = configEstimators
            self.optionsSetOnCommandLine = optionsSetOnCommandLine
        }

        static func takers(of key: String, among names: Set<String>) -> [String] {
            names.filter { (try? EstimatorRegistry.entry(named: $0))?.optionKeys.contains(key) == true }.sorted()
        }

        mutating func apply(to json: inout JSON) throws {
            guard case var .object(options)? = json["estimator"], case let .string(name)? = options["name"],
                  let entry = try? EstimatorRegistry.entry(named: name) else { return }  // decoding reports it
            for key in options.keys.sorted() where key != "name" && options[key] != .null && !entry.optionKeys.contains(key) {
                if !Self.takers(of: key, among: sweepEstimators).isEmpty {
                    dropped[key, default: []].insert(name)
                } else if !optionsSetOnCommandLine.contains(key), !Self.takers(of: key, among: configEstimators).isEmpty {
                    droppedFromConfig[key, default: []].insert(name)
                } else {
                    throw ConfigError.optionNotTaken(path: "estimator.\(key)", estimators: sweepEstimators.sorted(),
                                                     takenBy: Self.takers(of: key, among: Set(EstimatorRegistry.names)))
                }
                options[key] = nil
            }
            json.set("estimator", to: .object(options))
        }

        var notes: [String] {
            var lines: [String] = []
            for key in droppedFromConfig.keys.sorted() {
                let owners = Self.takers(of: key, among: configEstimators).joined(separator: ", ")
                lines.append("estimator.\(key) in the config is an option of \(owners), not of \(droppedFromConfig[key]!.sorted().joined(separator: ", ")) (--set estimator.name); dropped")
            }
            for key in dropped.keys.sorted() {
                lines.append("estimator.\(key) applies to \(Self.takers(of: key, among: sweepEstimators).joined(separator: ", ")) only; dropped for the runs of \(dropped[key]!.sorted().joined(separator: ", "))")
            }
            return lines
        }
    }

    // MARK: - Validation before expansion

    /// An empty list anywhere would make a sweep of no runs, and leave the keys under it unchecked.
    static func rejectEmptyLists(_ json: JSON, path: String) throws {
        switch json {
        case let .object(object):
            for key in object.keys.sorted() {
                try rejectEmptyLists(object[key]!, path: path.isEmpty ? key : "\(path).\(key)")
            }
        case let .array(items):
            if listValuedKeys.contains(path) {
                // A hidden-size list is a value ([] = no hidden layers, checked by the decoder); only
                // a list of lists is an axis, and it must not be empty.
                return
            }
            guard !items.isEmpty else {
                throw ConfigError.invalidValue(path: path, value: "[]",
                    requirement: "an empty list is a sweep axis with no values (it would make no runs); give at least one value")
            }
            for (i, item) in items.enumerated() { try rejectEmptyLists(item, path: "\(path)[\(i)]") }
        default:
            return
        }
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
        // The shape names the family too ("200" is Bernoulli); a family that says otherwise is a mistake.
        if case let .string(family)? = latent["family"], family != spec.family.rawValue {
            throw ConfigError.invalidValue(path: "latent.shape", value: "\"\(text)\"",
                                           requirement: "is a \(spec.family.rawValue) shape but latent.family is \"\(family)\"")
        }
        if latent["family"] == nil || latent["family"] == .null { latent["family"] = .string(spec.family.rawValue) }
        latent["shape"] = nil
        latent["variables"] = .number(Double(spec.variables))
        if spec.family == .categorical { latent["classes"] = .number(Double(spec.classes)) }
        out.set("latent", to: .object(latent))
        return out
    }

    /// `--set latent.shape=...` over a config giving `latent.variables/classes` (or the reverse): the
    /// later source wins, with a note, instead of the "not both" error a single source gets.
    static func giveLatentShapePrecedence(_ json: inout JSON, setting path: String, to value: JSON, notes: inout [String]) throws {
        guard case var .object(latent)? = json["latent"] else { return }
        let given = { (key: String) -> JSON? in latent[key].flatMap { $0 == .null ? nil : $0 } }
        switch path {
        case "latent.shape":
            let replaced = ["variables", "classes"].compactMap { key in given(key).map { "latent.\(key)=\($0)" } }
            guard !replaced.isEmpty else { return }
            latent["variables"] = nil
            latent["classes"] = nil
            notes.append("--set latent.shape=\(value.description) replaces \(replaced.joined(separator: ", ")) given before it")
        case "latent.variables", "latent.classes":
            guard let shape = given("shape") else { return }
            guard case let .string(text) = shape, let spec = LatentSpec(shape: text) else {
                throw ConfigError.invalidValue(path: path, value: value.description,
                    requirement: "latent.shape \(shape.description) is given before it (a sweep axis or not a shape); change it with --set latent.shape=... instead")
            }
            // Keep the part of the shape this --set does not replace.
            latent["shape"] = nil
            latent["variables"] = .number(Double(spec.variables))
            if spec.family == .categorical { latent["classes"] = .number(Double(spec.classes)) }
            if given("family") == nil { latent["family"] = .string(spec.family.rawValue) }
            notes.append("--set \(path)=\(value.description) replaces that part of latent.shape \(shape.description) given before it")
        default:
            return
        }
        json.set("latent", to: .object(latent))
    }

    /// Readable, unique folder names from the swept values; `present` are the axes that apply to the run
    /// (an estimator option dropped for the run's estimator does not name its folder).
    static func runIDs(_ axes: [(path: String, values: [JSON])]) -> ([Int], Set<Int>) -> String {
        let labels = axes.map { axis -> String in
            let last = String(axis.path.split(separator: ".").last!)
            let clash = axes.filter { $0.path.split(separator: ".").last.map(String.init) == last }.count > 1
            return clash ? axis.path.replacingOccurrences(of: ".", with: "-") : (last == "name" ? String(axis.path.split(separator: ".").first!) : last)
        }
        return { picks, present in
            let parts = axes.indices.filter(present.contains).map { "\(labels[$0])-\(slug(axes[$0].values[picks[$0]]))" }
            return parts.isEmpty ? "run" : parts.joined(separator: "_")
        }
    }

    /// The `summary.csv` columns of the swept keys: a list-of-objects axis is one column per key of its
    /// objects (`estimator` -> `estimator.temperature`); keys the fixed columns already show (`estimator.name`,
    /// `training.seed`) and repeated keys get no second column. Each column reads its value from the run's
    /// assignment of `axis` at `key` (nil = the axis value itself).
    static func summaryColumns(_ axes: [(path: String, values: [JSON])], fixed: [String])
        -> [(column: String, axis: String, key: [String])] {
        var columns: [(column: String, axis: String, key: [String])] = []
        func leaves(_ value: JSON, _ key: [String], into out: inout [[String]]) {
            if case let .object(object) = value {
                for k in object.keys.sorted() { leaves(object[k]!, key + [k], into: &out) }
            } else if !out.contains(key) {
                out.append(key)
            }
        }
        for axis in axes {
            var keys: [[String]] = []
            for value in axis.values { leaves(value, [], into: &keys) }
            for key in keys {
                let column = ([axis.path] + key).joined(separator: ".")
                guard column != "estimator.name", column != "training.seed", !fixed.contains(column),
                      !columns.contains(where: { $0.column == column }) else { continue }
                columns.append((column, axis.path, key))
            }
        }
        return columns
    }

    static func slug(_ value: JSON) -> String {
        let text: String
        switch value {
        case let .string(s): text = s
        case let .array(items): text = items.map { slug($0) }.joined(separator: "x")
        case let .object(object):
            // A list-of-objects axis (`"estimator": [{"name": "st", "temperature": 1}, ...]`) names the
            // folder by its name first, then key-value pairs: `estimator-st-temperature-1`.
            var parts: [String] = []
            var named = false
            if case let .string(name)? = object["name"] { parts.append(slug(.string(name))); named = true }
            for key in object.keys.sorted() where !(key == "name" && named) && object[key] != .null {
                parts.append("\(slug(.string(key)))-\(slug(object[key]!))")
            }
            text = parts.joined(separator: "-")
        default: text = value.description
        }
        return String(text.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "_" })
    }
}
