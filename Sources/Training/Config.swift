// Run configuration: decoded from JSON section by section with validation, so every mistake is
// reported with its key path and what is allowed. The README documents every key.
import Estimators
import Foundation
import VAE

public enum ConfigError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case unknownKey(path: String, allowed: [String])
    case wrongType(path: String, expected: String, found: String)
    case invalidValue(path: String, value: String, requirement: String)
    case estimator(String)
    /// An estimator option that no estimator of the sweep takes.
    case optionNotTaken(path: String, estimators: [String], takenBy: [String])
    /// The sizes the config asks for cannot fit in physical memory (see `MemoryEstimate`).
    case tooLargeForMemory(keys: [String], detail: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "cannot read config \(path): \(reason)"
        case let .unknownKey(path, allowed):
            return "unknown config key '\(path)'; allowed here: \(allowed.sorted().joined(separator: ", "))"
        case let .wrongType(path, expected, found): return "config key '\(path)' must be \(expected), found \(found)"
        case let .invalidValue(path, value, requirement): return "config key '\(path)' = \(value) is invalid: \(requirement)"
        case let .estimator(message): return "config key 'estimator': \(message)"
        case let .tooLargeForMemory(keys, detail):
            return "config keys \(keys.map { "'\($0)'" }.joined(separator: ", ")) ask for more memory than this machine has: \(detail); reduce them"
        case let .optionNotTaken(path, estimators, takenBy):
            let owners = takenBy.isEmpty ? "no estimator has it" : "it is an option of \(takenBy.joined(separator: ", "))"
            return "config key '\(path)': no estimator of this sweep (\(estimators.joined(separator: ", "))) takes it; \(owners) (`vae-train estimators` lists each one's options)"
        }
    }
}

// MARK: - The configuration

public struct DataConfig: Equatable, Sendable {
    public var dataset: DatasetKind = .mnist
    /// Explicit data directory; nil searches the default locations (see DatasetLoader).
    public var directory: String?
    public var binarization: Binarization = .none
    public var trainLimit: Int?
    public var testLimit: Int?
    /// Which split the per-epoch evaluation uses (`valid` exists only for binarized_mnist).
    public var evaluationSplit: Split = .test
}

public enum ModelKind: String, Sendable, CaseIterable { case mlp, linear }

public struct ModelConfig: Equatable, Sendable {
    public var kind: ModelKind = .mlp
    public var encoderHidden = [512, 256]
    public var decoderHidden = [256, 512]
    public var activation: Activation = .relu
    public var learnedPrior = false
}

public enum KLMode: String, Sendable, CaseIterable { case analytic, sample }

public struct LatentConfig: Equatable, Sendable {
    public var spec = LatentSpec.categorical(24, 4)  // "4x24": 24 variables with 4 classes
    public var kl: KLMode = .analytic
}

public struct TrainingConfig: Equatable, Sendable {
    public var epochs = 10
    public var batchSize = 100
    public var optimizer: OptimizerKind = .adam
    public var learningRate = 1e-3
    public var seed = 1
    public var gradientClip: Double?
    public var threads = 1
    /// Cap on steps per epoch (benchmarks and smoke tests); nil = the whole training set.
    public var maxStepsPerEpoch: Int?
}

public struct EvaluationConfig: Equatable, Sendable {
    /// Evaluate every this many epochs (and always after the last).
    public var every = 1
    /// K for the IWAE bound on the test NLL; 0 turns it off.
    public var iwaeSamples = 0
    /// Log a cheap gradient-variance estimate (grad_var column) every this many epochs; 0 = off.
    public var gradientVarianceEvery = 0
}

public enum ProgressMode: String, Sendable, CaseIterable { case auto, always, never }

public struct OutputConfig: Equatable, Sendable {
    public var directory = "results"
    public var checkpoint = true
    public var progress: ProgressMode = .auto
    /// Append a row to steps.csv every this many optimizer steps; 0 = off.
    public var stepsEvery = 0
}

public struct RunConfig: Equatable, Sendable {
    public var name = "run"
    public var data = DataConfig()
    public var model = ModelConfig()
    public var latent = LatentConfig()
    public var estimator = EstimatorOptions(estimator: "st")
    public var training = TrainingConfig()
    public var evaluation = EvaluationConfig()
    public var output = OutputConfig()
    /// Learning-rate and temperature schedules (absent: both constant).
    public var schedule = ScheduleConfig()

    public init() {}

    public var modelShape: ModelShape {
        ModelShape(inputSize: 784,
                   encoderHidden: model.kind == .linear ? [] : model.encoderHidden,
                   decoderHidden: model.kind == .linear ? [] : model.decoderHidden,
                   activation: model.activation, latent: latent.spec, learnedPrior: model.learnedPrior)
    }

    /// The model sizes estimators with networks of their own are built with (NVIL's input width, RELAX's
    /// code width): the run determines them, a config need not state them.
    public var modelSizes: ModelSizes { ModelSizes(modelShape) }
}

// MARK: - Decoding with validation

extension EstimatorOptions {
    /// An estimator's options from a JSON object (every key but `name`; null means "use the default").
    public init(name: String, json object: [String: JSON], path: String) throws {
        var values: [String: OptionValue] = [:]
        for (key, value) in object where key != "name" {
            switch value {
            case let .number(d): values[key] = .number(d)
            case let .string(s): values[key] = .string(s)
            case let .bool(b): values[key] = .bool(b)
            case .null: continue
            default: throw ConfigError.wrongType(path: "\(path).\(key)", expected: "a number, string or boolean", found: value.typeName)
            }
        }
        self.init(estimator: name, values: values)
    }
}

/// Reads one object section, remembering every key it was asked about so unknown keys can be named.
package struct SectionReader {
    package let path: String
    package let object: [String: JSON]
    package private(set) var known: [String] = []

    package init(_ json: JSON?, path: String) throws {
        self.path = path
        switch json {
        case nil, .null?: object = [:]
        case let .object(o)?: object = o
        case let other?: throw ConfigError.wrongType(path: path, expected: "an object", found: other.typeName)
        }
    }

    package func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    package mutating func raw(_ key: String) -> JSON? {
        known.append(key)
        if case .null? = object[key] { return nil }
        return object[key]
    }

    package mutating func number(_ key: String, default fallback: Double, requirement: String = "",
                         isValid: (Double) -> Bool = { _ in true }) throws -> Double {
        guard let value = raw(key) else { return fallback }
        guard case let .number(d) = value else {
            throw ConfigError.wrongType(path: keyPath(key), expected: "a number", found: value.typeName)
        }
        guard d.isFinite, isValid(d) else {
            throw ConfigError.invalidValue(path: keyPath(key), value: value.description, requirement: requirement)
        }
        return d
    }

    package mutating func optionalNumber(_ key: String, requirement: String, isValid: (Double) -> Bool) throws -> Double? {
        guard object[key] != nil, object[key] != .null else { known.append(key); return nil }
        return try number(key, default: 0, requirement: requirement, isValid: isValid)
    }

    package mutating func integer(_ key: String, default fallback: Int, minimum: Int) throws -> Int {
        Int(try number(key, default: Double(fallback), requirement: "must be an integer >= \(minimum)") {
            $0 == $0.rounded() && $0 >= Double(minimum)
        })
    }

    package mutating func optionalInteger(_ key: String, minimum: Int) throws -> Int? {
        try optionalNumber(key, requirement: "must be an integer >= \(minimum) or null") {
            $0 == $0.rounded() && $0 >= Double(minimum)
        }.map { Int($0) }
    }

    package mutating func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard let value = raw(key) else { return fallback }
        guard case let .bool(b) = value else {
            throw ConfigError.wrongType(path: keyPath(key), expected: "true or false", found: value.typeName)
        }
        return b
    }

    package mutating func string(_ key: String) throws -> String? {
        guard let value = raw(key) else { return nil }
        guard case let .string(s) = value else {
            throw ConfigError.wrongType(path: keyPath(key), expected: "a string", found: value.typeName)
        }
        return s
    }

    package mutating func choice<E: RawRepresentable & CaseIterable>(_ key: String, default fallback: E) throws -> E
    where E.RawValue == String {
        guard let s = try string(key) else { return fallback }
        guard let value = E(rawValue: s) else {
            throw ConfigError.invalidValue(path: keyPath(key), value: "\"\(s)\"",
                requirement: "allowed values: \(E.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }

    package mutating func integerList(_ key: String, default fallback: [Int]) throws -> [Int] {
        guard let value = raw(key) else { return fallback }
        guard case let .array(items) = value else {
            throw ConfigError.wrongType(path: keyPath(key), expected: "a list of integers", found: value.typeName)
        }
        return try items.map { item in
            guard case let .number(d) = item, d == d.rounded(), d >= 1 else {
                throw ConfigError.invalidValue(path: keyPath(key), value: value.description,
                                               requirement: "must be a list of positive integers")
            }
            return Int(d)
        }
    }

    package func finish() throws {
        for key in object.keys.sorted() where !known.contains(key) {
            throw ConfigError.unknownKey(path: keyPath(key), allowed: known)
        }
    }
}

extension RunConfig {
    static let sections = ["name", "data", "model", "latent", "estimator", "training", "evaluation", "output", "schedule", "sweep"]

    /// Decodes and validates one run's configuration (a sweep must be expanded first; see `Sweep`).
    public init(json original: JSON, defaultName: String = "run") throws {
        self.init()
        let json = try Sweep.resolveLatentShape(original)
        var top = try SectionReader(json, path: "")
        name = try top.string("name") ?? defaultName
        guard name.range(of: #"^[A-Za-z0-9._-]+$"#, options: .regularExpression) != nil else {
            throw ConfigError.invalidValue(path: "name", value: "\"\(name)\"", requirement: "letters, digits, '.', '_' and '-' only (it names a folder)")
        }

        var d = try SectionReader(top.raw("data"), path: "data")
        data.dataset = try d.choice("dataset", default: DatasetKind.mnist)
        data.directory = try d.string("directory")
        data.binarization = try d.choice("binarization", default: Binarization.none)
        data.trainLimit = try d.optionalInteger("train_limit", minimum: 1)
        data.testLimit = try d.optionalInteger("test_limit", minimum: 1)
        data.evaluationSplit = try d.choice("evaluation_split", default: Split.test)
        guard data.dataset.splits.contains(data.evaluationSplit) else {
            throw ConfigError.invalidValue(path: "data.evaluation_split", value: "\"\(data.evaluationSplit.rawValue)\"",
                requirement: "\(data.dataset.rawValue) has splits \(data.dataset.splits.map(\.rawValue).joined(separator: ", "))")
        }
        try d.finish()

        var m = try SectionReader(top.raw("model"), path: "model")
        model.kind = try m.choice("type", default: ModelKind.mlp)
        model.encoderHidden = try m.integerList("encoder_hidden", default: [512, 256])
        model.decoderHidden = try m.integerList("decoder_hidden", default: [256, 512])
        model.activation = try m.choice("activation", default: Activation.relu)
        model.learnedPrior = try m.bool("learned_prior", default: false)
        if model.kind == .mlp {
            for (key, list) in [("encoder_hidden", model.encoderHidden), ("decoder_hidden", model.decoderHidden)] where list.isEmpty {
                throw ConfigError.invalidValue(path: "model.\(key)", value: "[]",
                    requirement: "an mlp needs at least one hidden layer; use model.type = \"linear\" for none")
            }
        }
        try m.finish()

        var l = try SectionReader(top.raw("latent"), path: "latent")
        let family = try l.choice("family", default: LatentFamily.categorical)
        let variables = try l.integer("variables", default: 24, minimum: 1)
        let classes = family == .categorical ? try l.integer("classes", default: 4, minimum: 2) : 2
        if family == .bernoulli, l.object["classes"] != nil {
            _ = l.raw("classes")
            throw ConfigError.invalidValue(path: "latent.classes", value: l.object["classes"]!.description,
                                           requirement: "only categorical latents have classes; remove it for bernoulli")
        }
        latent.spec = LatentSpec(family: family, variables: variables, classes: classes)
        latent.kl = try l.choice("kl", default: KLMode.analytic)
        try l.finish()

        estimator = try RunConfig.estimatorOptions(top.raw("estimator"), sizes: modelSizes, family: latent.spec.family)

        var t = try SectionReader(top.raw("training"), path: "training")
        training.epochs = try t.integer("epochs", default: 10, minimum: 1)
        training.batchSize = try t.integer("batch_size", default: 100, minimum: 1)
        training.optimizer = try t.choice("optimizer", default: OptimizerKind.adam)
        training.learningRate = try t.number("learning_rate", default: 1e-3, requirement: "must be > 0") { $0 > 0 }
        training.seed = try t.integer("seed", default: 1, minimum: 0)
        training.gradientClip = try t.optionalNumber("gradient_clip", requirement: "must be > 0 or null") { $0 > 0 }
        training.threads = try t.integer("threads", default: 1, minimum: 1)
        training.maxStepsPerEpoch = try t.optionalInteger("max_steps_per_epoch", minimum: 1)
        try t.finish()

        var e = try SectionReader(top.raw("evaluation"), path: "evaluation")
        evaluation.every = try e.integer("every", default: 1, minimum: 1)
        evaluation.iwaeSamples = try e.integer("iwae_samples", default: 0, minimum: 0)
        evaluation.gradientVarianceEvery = try e.integer("gradient_variance_every", default: 0, minimum: 0)
        try e.finish()

        var o = try SectionReader(top.raw("output"), path: "output")
        output.directory = try o.string("directory") ?? "results"
        output.checkpoint = try o.bool("checkpoint", default: true)
        output.progress = try o.choice("progress", default: ProgressMode.auto)
        output.stepsEvery = try o.integer("steps_every", default: 0, minimum: 0)
        try o.finish()

        schedule = try ScheduleConfig.decode(top.raw("schedule"))
        if case let .cosine(_, minimum)? = schedule.learningRate, minimum > training.learningRate {
            throw ConfigError.invalidValue(path: "schedule.learning_rate.minimum", value: "\(minimum)",
                requirement: "must be <= training.learning_rate (\(training.learningRate)): the cosine decays from it to the minimum")
        }
        if let temperatureSchedule = schedule.temperature {
            try RunConfig.checkTemperatureSchedule(temperatureSchedule, estimator: estimator, family: latent.spec.family, sizes: modelSizes)
        }

        _ = top.raw("sweep")  // expanded before decoding; tolerated here so resolved sweeps still decode
        try top.finish()
    }

    /// The estimator section: `name` plus that estimator's options, validated by the registry. A model size
    /// the section restates (`code_width`, as a run's config.json records it) must agree with the model's;
    /// it is then dropped, since the sizes reach the estimator from the model (and `json` records them again).
    static func estimatorOptions(_ json: JSON?, sizes: ModelSizes, family: LatentFamily) throws -> EstimatorOptions {
        guard case let .object(object)? = json else {
            if json == nil || json == .null { return EstimatorOptions(estimator: "st") }
            throw ConfigError.wrongType(path: "estimator", expected: "an object", found: json!.typeName)
        }
        guard case let .string(name)? = object["name"] else {
            throw ConfigError.invalidValue(path: "estimator.name", value: object["name"]?.description ?? "missing",
                                           requirement: "a string, one of: \(EstimatorRegistry.names.joined(separator: ", "))")
        }
        var options = try EstimatorOptions(name: name, json: object, path: "estimator")
        do {
            _ = try EstimatorRegistry.make(options, sizes: sizes, family: family, scalar: Float.self)
        } catch let error as EstimatorError {
            throw ConfigError.estimator(error.description)
        }
        for size in ModelSize.allCases { options.values[size.rawValue] = nil }
        return options
    }

    /// The estimator's starting temperature τ₀: its `temperature` option, or that option's default.
    public static func initialTemperature(of options: EstimatorOptions) -> Double? {
        guard let entry = try? EstimatorRegistry.entry(named: options.estimator),
              let spec = entry.optionSpecs.first(where: { $0.key == "temperature" }) else { return nil }
        if case let .number(t) = options.values["temperature"] ?? spec.defaultValue { return t }
        return nil
    }

    /// Whether the estimator's temperature may follow `schedule`: it must take a `temperature` option, not
    /// learn it (REBAR and RELAX do), accept the schedule's floor, and start at or above it.
    static func checkTemperatureSchedule(_ schedule: TemperatureSchedule, estimator options: EstimatorOptions, family: LatentFamily,
                                         sizes: ModelSizes) throws {
        let name = options.estimator
        guard let tau0 = initialTemperature(of: options) else {
            throw ConfigError.invalidValue(path: "schedule.temperature", value: "set",
                requirement: "estimator '\(name)' has no temperature option; it applies to \(EstimatorRegistry.temperatureScheduleEstimators.joined(separator: ", "))")
        }
        guard EstimatorRegistry.temperatureScheduleEstimators.contains(name) else {
            throw ConfigError.invalidValue(path: "schedule.temperature", value: "set",
                requirement: "estimator '\(name)' learns its temperature (one of its own parameters); a schedule applies to \(EstimatorRegistry.temperatureScheduleEstimators.joined(separator: ", "))")
        }
        var floor = options
        floor.values["temperature"] = .number(schedule.minimum)
        do {
            _ = try EstimatorRegistry.make(floor, sizes: sizes, family: family, scalar: Float.self)
        } catch let EstimatorError.invalidOption(_, _, value, requirement) {
            throw ConfigError.invalidValue(path: "schedule.temperature.minimum", value: value, requirement: "\(name)'s temperature \(requirement)")
        }
        guard schedule.minimum <= tau0 else {
            throw ConfigError.invalidValue(path: "schedule.temperature.minimum", value: "\(schedule.minimum)",
                requirement: "must be <= the estimator's starting temperature τ₀ = \(tau0) (estimator.temperature)")
        }
    }

    /// True when a schedule's length is the run's own (a cosine learning rate without `steps`): then the
    /// run cannot be continued to more epochs.
    public var scheduleSpansRun: Bool {
        if case .cosine(nil, _)? = schedule.learningRate { return true }
        return false
    }

    /// Whether a checkpoint written under `saved` (its compact JSON) may continue under `current`:
    /// everything but `training.epochs` must match.
    public static func resumable(_ saved: String, _ current: JSON) -> Bool {
        guard var old = try? JSON.parse(Data(saved.utf8)) else { return false }
        var new = current
        // A cosine schedule without `steps` spans the run: its length (the epoch count) may not change either.
        let spansRun = current.value(at: "schedule.learning_rate.type") == .string("cosine")
            && (current.value(at: "schedule.learning_rate.steps") ?? .null) == .null
        // Keys that change how a run is shown, not what it computes, may change on resume too (a
        // checkpoint written before `output.steps_every` existed lacks it: null on both sides).
        for key in (spansRun ? [] : ["training.epochs"]) + RunFolder.cosmeticKeys.filter({ $0.hasPrefix("output.") }) {
            old.set(key, to: .null)
            new.set(key, to: .null)
        }
        return old == new
    }

    /// The resolved configuration as JSON (every default filled in), written next to each run.
    public var json: JSON {
        func num(_ x: Double) -> JSON { .number(x) }
        func ints(_ xs: [Int]) -> JSON { .array(xs.map { .number(Double($0)) }) }
        var estimatorObject: [String: JSON] = ["name": .string(estimator.estimator)]
        for (k, v) in EstimatorRegistry.resolvedValues(estimator, sizes: modelSizes) {
            switch v {
            case let .number(d): estimatorObject[k] = .number(d)
            case let .string(s): estimatorObject[k] = .string(s)
            case let .bool(b): estimatorObject[k] = .bool(b)
            }
        }
        var latentObject: [String: JSON] = ["family": .string(latent.spec.family.rawValue),
                                            "variables": num(Double(latent.spec.variables)), "kl": .string(latent.kl.rawValue)]
        if latent.spec.family == .categorical { latentObject["classes"] = num(Double(latent.spec.classes)) }
        var top: [String: JSON] = [
            "name": .string(name),
            "data": .object(["dataset": .string(data.dataset.rawValue), "directory": data.directory.map(JSON.string) ?? .null,
                             "binarization": .string(data.binarization.rawValue),
                             "train_limit": data.trainLimit.map { num(Double($0)) } ?? .null,
                             "test_limit": data.testLimit.map { num(Double($0)) } ?? .null,
                             "evaluation_split": .string(data.evaluationSplit.rawValue)]),
            "model": .object(["type": .string(model.kind.rawValue), "encoder_hidden": ints(model.encoderHidden),
                              "decoder_hidden": ints(model.decoderHidden), "activation": .string(model.activation.rawValue),
                              "learned_prior": .bool(model.learnedPrior)]),
            "latent": .object(latentObject),
            "estimator": .object(estimatorObject),
            "training": .object(["epochs": num(Double(training.epochs)), "batch_size": num(Double(training.batchSize)),
                                 "optimizer": .string(training.optimizer.rawValue), "learning_rate": num(training.learningRate),
                                 "seed": num(Double(training.seed)), "gradient_clip": training.gradientClip.map(num) ?? .null,
                                 "threads": num(Double(training.threads)),
                                 "max_steps_per_epoch": training.maxStepsPerEpoch.map { num(Double($0)) } ?? .null]),
            "evaluation": .object(["every": num(Double(evaluation.every)), "iwae_samples": num(Double(evaluation.iwaeSamples)),
                                   "gradient_variance_every": num(Double(evaluation.gradientVarianceEvery))]),
            "output": .object(["directory": .string(output.directory), "checkpoint": .bool(output.checkpoint),
                               "progress": .string(output.progress.rawValue),
                               "steps_every": num(Double(output.stepsEvery))]),
        ]
        if let scheduleJSON = schedule.json { top["schedule"] = scheduleJSON }
        return .object(top)
    }
}
