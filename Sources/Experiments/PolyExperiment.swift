// `vae-train poly` as a library call: its config (configs/poly.json), read by the same strict reader as run
// configs, and the experiment over estimators × exponents p × seeds that writes curves.csv, table.csv and
// table.md (rewritten after each cell, so partial results survive an interruption).
import Estimators
import Foundation
import Training

/// The polynomial-programming experiment's settings. Keys: `name` (a label), `problem` {variables, target,
/// batch_size, steps, steps_per_epoch, learning_rate}, `p` (exponents), `seeds`, `estimators` (objects with
/// `name` and that estimator's options), `output` (folder). Unknown keys, wrong types and invalid estimator
/// options are errors naming the key.
public struct PolyConfig: Equatable, Sendable {
    public var problem = PolyProblem()
    public var exponents: [Double] = [1.5, 2, 3]
    public var seeds: [Int] = Array(1...10)
    public var estimators = [EstimatorOptions(estimator: "st", values: ["temperature": .number(1)]),
                             EstimatorOptions(estimator: "reinmax", values: ["temperature": .number(1)])]
    public var output = "results/poly"

    public init() {}

    public init(json: JSON) throws {
        var top = try SectionReader(json, path: "")
        _ = try top.string("name")
        var p = try SectionReader(top.raw("problem"), path: "problem")
        problem.variables = try p.integer("variables", default: problem.variables, minimum: 1)
        problem.target = try p.number("target", default: problem.target, requirement: "must be in [0, 1]") { (0...1).contains($0) }
        problem.batchSize = try p.integer("batch_size", default: problem.batchSize, minimum: 1)
        problem.steps = try p.integer("steps", default: problem.steps, minimum: 1)
        problem.stepsPerEpoch = try p.integer("steps_per_epoch", default: problem.stepsPerEpoch, minimum: 1)
        problem.learningRate = try p.number("learning_rate", default: problem.learningRate, requirement: "must be > 0") { $0 > 0 }
        try p.finish()
        if let raw = top.raw("p") { exponents = try Self.numbers(raw, path: "p", requirement: "must be > 0") { $0 > 0 } }
        seeds = try top.integerList("seeds", default: seeds)
        if let raw = top.raw("estimators") {
            guard case let .array(items) = raw, !items.isEmpty else {
                throw ConfigError.wrongType(path: "estimators", expected: "a non-empty list of estimator objects", found: raw.typeName)
            }
            estimators = try items.enumerated().map { index, item in
                guard case let .object(object) = item, case let .string(name)? = object["name"] else {
                    throw ConfigError.invalidValue(path: "estimators[\(index)]", value: item.description, requirement: "an object with a \"name\"")
                }
                return try Self.checked(EstimatorOptions(name: name, json: object, path: "estimators[\(index)]"), path: "estimators[\(index)]",
                                        sizes: problem.sizes)
            }
        }
        output = try top.string("output") ?? output
        try top.finish()
        guard !exponents.isEmpty else { throw ConfigError.invalidValue(path: "p", value: "[]", requirement: "at least one exponent") }
        guard !seeds.isEmpty else { throw ConfigError.invalidValue(path: "seeds", value: "[]", requirement: "at least one seed") }
    }

    /// The config at `path`.
    public static func load(_ path: String) throws -> PolyConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError.unreadable(path: path, reason: "no such file")
        }
        do {
            return try PolyConfig(json: JSON.parse(data))
        } catch let error as ConfigError {
            throw error
        } catch {
            throw ConfigError.unreadable(path: path, reason: "not valid JSON (\(error))")
        }
    }

    /// Keeps only the named estimators, in that order: the config's options for a name it lists (e.g. reinmax
    /// at the toy's τ = 1), the registry's defaults otherwise.
    public mutating func selectEstimators(_ names: [String]) throws {
        let configured = estimators
        estimators = try names.map { name in
            try Self.checked(configured.first { $0.estimator == name } ?? EstimatorOptions(estimator: name), path: "--estimators \(name)",
                             sizes: problem.sizes)
        }
    }

    static func checked(_ options: EstimatorOptions, path: String, sizes: ModelSizes) throws -> EstimatorOptions {
        do {
            _ = try EstimatorRegistry.make(options, sizes: sizes, family: .categorical, scalar: Double.self)
        } catch let error as EstimatorError {
            throw ConfigError.invalidValue(path: path, value: options.estimator, requirement: error.description)
        }
        return options
    }

    static func numbers(_ json: JSON, path: String, requirement: String, isValid: (Double) -> Bool) throws -> [Double] {
        guard case let .array(items) = json else { throw ConfigError.wrongType(path: path, expected: "a list of numbers", found: json.typeName) }
        return try items.map { item in
            guard case let .number(v) = item, v.isFinite, isValid(v) else {
                throw ConfigError.invalidValue(path: path, value: json.description, requirement: requirement)
            }
            return v
        }
    }
}

extension Poly {
    /// Every (estimator, p) cell over the config's seeds; prints one line per cell through `log` and rewrites
    /// the output files after each. `command` is recorded in table.md.
    public static func runExperiment(_ config: PolyConfig, command: String, log: (String) -> Void) throws {
        try FileManager.default.createDirectory(atPath: config.output, withIntermediateDirectories: true)
        var runs: [PolyRun] = []
        for options in config.estimators {
            for exponent in config.exponents {
                var problem = config.problem
                problem.p = exponent
                let clock = Date()
                var finals: [Double] = []
                for seed in config.seeds {
                    let run = try Poly.run(problem, estimator: options, seed: seed)
                    runs.append(run)
                    finals.append(run.finalLoss)
                }
                let mean = finals.reduce(0, +) / Double(finals.count)
                log("\(label(options)) p=\(exponent): last-epoch loss \(String(format: "%.5f", mean)) over \(finals.count) seeds (optimum \(String(format: "%.5f", problem.optimum)); \(String(format: "%.1f", Date().timeIntervalSince(clock))) s)")
                try write(runs, config: config, command: command)
            }
        }
        log("wrote \(config.output)/curves.csv, table.csv, table.md")
    }

    static func write(_ runs: [PolyRun], config: PolyConfig, command: String) throws {
        let problem = config.problem, output = config.output
        let rows = table(runs, problem: problem)
        try writeAtomically(Data(curvesCSV(runs, stepsPerEpoch: problem.stepsPerEpoch).utf8), to: "\(output)/curves.csv")
        try writeAtomically(Data(tableCSV(rows).utf8), to: "\(output)/table.csv")
        let header = """
            # Polynomial programming (ReinMax §5.2 protocol)

            \(problem.variables) binary variables, target \(problem.target), batch \(problem.batchSize), Adam lr \(problem.learningRate), \
            \(problem.steps) steps (\(problem.steps / problem.stepsPerEpoch) epochs × \(problem.stepsPerEpoch)), up to \(config.seeds.count) seeds.
            Entry: mean ± s.e. over seeds of the last epoch's average training loss; "exact" is E_q[loss] at the final θ.
            Command: `\(command)`
            """
        try writeAtomically(Data(tableMarkdown(rows, header: header).utf8), to: "\(output)/table.md")
    }
}
